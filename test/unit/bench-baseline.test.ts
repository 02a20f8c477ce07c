import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptMessage } from '../../src/crypto/message-cipher.js';
import { computeMsgSignature } from '../../src/crypto/msg-signature.js';
import { signPush } from '../../src/crypto/reply.js';
import { parseXml } from '../../src/xml/parse.js';
import { BENCH_ENV, CREDS, makePush, RELEASE_TEST_USERNAME, type Scenario } from '../../bench/lib/pushes.js';
import { freePorts } from '../helpers/ports.js';

const BASELINE = fileURLToPath(new URL('../../bench/push-baseline.mjs', import.meta.url));

/**
 * bench:push compares wxopen with bench/push-baseline.mjs. The comparison only means something if the
 * baseline shares no code with wxopen and still refuses what the protocol says to refuse.
 */
describe('bench:push baseline', () => {
  it('imports only node: built-ins (nothing from src/ or any package)', () => {
    const source = readFileSync(BASELINE, 'utf8');
    const specifiers = [...source.matchAll(/\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"`]([^'"`]+)['"`]|\brequire\s*\(\s*['"`]([^'"`]+)['"`]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(specifiers.length).toBeGreaterThan(0);
    for (const s of specifiers) expect(s).toMatch(/^node:[a-z_]+$/);
    // No dynamic import with a computed specifier, no createRequire.
    expect(source).not.toMatch(/\bimport\s*\(\s*[^'"`\s]/);
    expect(source).not.toMatch(/createRequire|\/src\//);
  });

  const start = async (extraEnv: Record<string, string> = {}): Promise<{ proc: ChildProcess; port: number }> => {
    const [port] = (await freePorts(1)) as [number];
    const proc = spawn(process.execPath, [BASELINE], { env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ...BENCH_ENV, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('listening on')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`baseline exited ${code}`)));
    });
    return { proc, port };
  };
  const postTo = async (port: number, path: string, query: Record<string, string>, body: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}?${new URLSearchParams(query).toString()}`, { method: 'POST', body, headers: { 'content-type': 'text/xml' } });
    return { status: r.status, body: await r.text() };
  };
  const push = (scenario: Scenario, i = 1) => makePush(scenario, i, Math.floor(Date.now() / 1000));

  describe('durable (BASELINE_JOURNAL)', () => {
    let server: { proc: ChildProcess; port: number };
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'wxopen-baseline-journal-'));
      server = await start({ BASELINE_JOURNAL: join(dir, 'journal.log') });
    });
    afterAll(() => {
      server?.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers each accepted push only once its decrypted XML is in the journal, and journals no refused one', async () => {
      const sent = (['ticket', 'authorized', 'message', 'reply', 'forged'] as const).map((scenario, i) => ({ scenario, ...push(scenario, 100 + i) }));
      const answers = await Promise.all(sent.map((s) => postTo(server.port, s.path, s.push.query, s.push.body)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 401]);
      const lines = readFileSync(join(dir, 'journal.log'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as string);
      expect(lines).toHaveLength(4);
      for (const s of sent.slice(0, 4)) {
        const plain = decryptMessage(parseXml(s.push.body).Encrypt as string, CREDS.aesKey, CREDS.componentAppid).message;
        expect(lines).toContain(plain);
      }
    });
  });

  describe('over HTTP', () => {
    let proc: ChildProcess;
    let port: number;

    beforeAll(async () => {
      ({ proc, port } = await start());
    });
    afterAll(() => {
      proc?.kill('SIGKILL');
    });

    const post = (path: string, query: Record<string, string>, body: string) => postTo(port, path, query, body);

    it.each(['ticket', 'authorized', 'message'] as const)('answers a valid %s push `success`', async (scenario) => {
      const { path, push: p } = push(scenario);
      expect(await post(path, p.query, p.body)).toEqual({ status: 200, body: 'success' });
    });

    it('answers the release-test text with a signed, encrypted `_callback` reply', async () => {
      const { path, push: p } = push('reply');
      const r = await post(path, p.query, p.body);
      expect(r.status).toBe(200);
      const outer = parseXml(r.body) as Record<string, string>;
      expect(computeMsgSignature(CREDS.token, outer.TimeStamp!, outer.Nonce!, outer.Encrypt!)).toBe(outer.MsgSignature);
      const inner = parseXml(decryptMessage(outer.Encrypt!, CREDS.aesKey, CREDS.componentAppid).message);
      expect(inner).toMatchObject({ Content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback', FromUserName: RELEASE_TEST_USERNAME, MsgType: 'text' });
    });

    it('refuses a forged signature, a stale timestamp, a tampered or foreign ciphertext', async () => {
      const forged = push('forged');
      expect((await post(forged.path, forged.push.query, forged.push.body)).status).toBe(401);
      const stale = makePush('ticket', 2, Math.floor(Date.now() / 1000) - 3600);
      expect((await post(stale.path, stale.push.query, stale.push.body)).status).toBe(401);
      // Another component's appid inside a correctly signed ciphertext: the receiveId check.
      const now = String(Math.floor(Date.now() / 1000));
      const foreign = signPush('<xml><AppId><![CDATA[wxffffffffffffffff]]></AppId><CreateTime>1</CreateTime></xml>', {
        token: CREDS.token,
        encodingAesKey: CREDS.aesKey,
        appid: 'wxffffffffffffffff',
        timestamp: now,
      });
      expect((await post('/wechat/component', foreign.query, foreign.body)).status).toBe(400);
      // A signed ciphertext that is not valid base64 of whole blocks.
      const bad = 'AAAA' + 'A'.repeat(20) + '=A==';
      const nonce = '7';
      const sig = computeMsgSignature(CREDS.token, now, nonce, bad);
      const r = await post('/wechat/component', { timestamp: now, nonce, msg_signature: sig }, `<xml><Encrypt><![CDATA[${bad}]]></Encrypt></xml>`);
      expect(r.status).toBe(400);
    });
  });
});
