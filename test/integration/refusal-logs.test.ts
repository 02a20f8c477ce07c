import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

/** POSTs over keep-alive sockets, `parallel` at a time (the raw fast path answers these). */
async function flood(p: TestPlatform, paths: string[], body: string, parallel = 16): Promise<Map<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  const { port } = new URL(p.url);
  const statuses = new Map<number, number>();
  const one = (path: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) } }, (res) => {
        statuses.set(res.statusCode!, (statuses.get(res.statusCode!) ?? 0) + 1);
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < paths.length) await one(paths[next++]!);
  }));
  agent.destroy();
  return statuses;
}

describe('refusals are logged with a rate limit, then a summary with the count suppressed', () => {
  let p: TestPlatform | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('10,000 forged pushes write a bounded number of lines and summaries that account for every refusal', async () => {
    p = await startTestPlatform();
    const ts = String(Math.floor(p.clock.now() / 1000));
    const forged = `?timestamp=${ts}&nonce=n&msg_signature=${'0'.repeat(40)}`;
    const kinds = [
      `/wechat/component${forged}`, // bad_signature
      `/wechat/authorizer/wx570bc396a51b8ff8${forged}`, // bad_signature
      '/wechat/component?nonce=n', // missing_params
      `/wechat/component?timestamp=1&nonce=n&msg_signature=${'0'.repeat(40)}`, // stale
    ];
    const paths = Array.from({ length: 10_000 }, (_, i) => kinds[i % kinds.length]!);
    const statuses = await flood(p, paths, '<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>');
    expect(Object.fromEntries(statuses)).toEqual({ 400: 2500, 401: 7500 });

    const refusedLines = () => p!.logs.filter((l) => l.msg === 'push refused');
    const summaries = () => p!.logs.filter((l) => l.msg === 'refusals not logged (rate limit)');
    // 10 lines per reason per 10 s: 3 reasons → at most 30 lines for 10,000 refusals.
    expect(refusedLines().length).toBeLessThanOrEqual(30);
    expect(refusedLines().length).toBeGreaterThanOrEqual(3);
    expect(new Set(refusedLines().map((l) => l.reason))).toEqual(new Set(['bad_signature', 'missing_params', 'stale']));

    // The next interval: the next refusal of a reason first writes that reason's summary.
    p.clock.advance(10_001);
    await flood(p, [kinds[0]!], '<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>', 1);
    expect(summaries().map((l) => l.reason)).toEqual(['bad_signature']);
    // Closing writes the summaries still pending, so a flood that stops is still counted.
    const logs = p.logs;
    const logged = refusedLines().length;
    await p.close();
    p = undefined;
    const all = logs.filter((l) => l.msg === 'refusals not logged (rate limit)');
    expect(new Set(all.map((l) => l.reason))).toEqual(new Set(['bad_signature', 'missing_params', 'stale']));
    const suppressed = all.reduce((n, l) => n + (l.suppressed as number), 0);
    expect(logged + suppressed).toBe(10_001);
    expect(logs.filter((l) => l.level === 40).length).toBeLessThanOrEqual(40);
  }, 120_000);
});
