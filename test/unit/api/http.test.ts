import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeChatHttp } from '../../../src/api/http.js';
import { UpstreamError, WeChatApiError } from '../../../src/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push(`${req.method} ${req.url} ${body}`);
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits };
}

const json = (res: ServerResponse, data: unknown, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(data));
};

describe('WeChatHttp', () => {
  let primary: Awaited<ReturnType<typeof serve>>;
  let backup: Awaited<ReturnType<typeof serve>>;
  let mode = 'ok';
  let busyLeft = 0;

  beforeAll(async () => {
    primary = await serve((req, res) => {
      if (mode === 'drop') return req.socket.destroy();
      if (mode === '502') return json(res, { oops: 1 }, 502);
      if (mode === 'busy' && busyLeft-- > 0) return json(res, { errcode: -1, errmsg: 'system error' });
      if (mode === 'string-errcode') return json(res, { errcode: '40029', errmsg: 'invalid code, rid: 64a1-2b3c' });
      if (mode === 'image') {
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        return res.end(Buffer.from([0xff, 0xd8, 0xff]));
      }
      if (mode === 'html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>proxy error</html>');
      }
      json(res, { errcode: 0, errmsg: 'ok', from: 'primary' });
    });
    backup = await serve((_req, res) => json(res, { from: 'backup' }));
  });
  afterAll(() => {
    primary.server.close();
    backup.server.close();
  });

  const http = () => new WeChatHttp({ bases: [primary.url, backup.url], busyBackoffMs: 5, timeoutMs: 2000 });

  it('sends JSON with query parameters and treats a missing or zero errcode as success', async () => {
    mode = 'ok';
    const r = await http().request({ method: 'POST', path: '/cgi-bin/x', query: { access_token: 'T', skip: undefined }, body: {} });
    expect(r).toMatchObject({ from: 'primary' });
    expect(primary.hits.at(-1)).toBe('POST /cgi-bin/x?access_token=T {}');
  });

  it('fails over to the backup host when the primary drops the connection or answers 5xx (idempotent calls)', async () => {
    for (const m of ['drop', '502']) {
      mode = m;
      expect(await http().request({ method: 'GET', path: '/wxa/get_page' })).toEqual({ from: 'backup' });
    }
  });

  it('does not repeat a non-idempotent call on another host after a 5xx', async () => {
    mode = '502';
    const before = backup.hits.length;
    await expect(http().request({ method: 'POST', path: '/wxa/submit_audit', body: {} })).rejects.toBeInstanceOf(UpstreamError);
    expect(backup.hits.length).toBe(before);
  });

  it('retries -1 (system busy) with backoff for idempotent calls only', async () => {
    mode = 'busy';
    busyLeft = 2;
    expect(await http().request({ method: 'GET', path: '/x' })).toMatchObject({ from: 'primary' });
    busyLeft = 1;
    const err = await http().request({ method: 'POST', path: '/wxa/release', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect((err as WeChatApiError).errcode).toBe(-1);
  });

  it('coerces a string errcode, classifies it and keeps the rid', async () => {
    mode = 'string-errcode';
    const err = (await http().request({ method: 'GET', path: '/sns/component/jscode2session' }).catch((e: unknown) => e)) as WeChatApiError;
    expect(err).toBeInstanceOf(WeChatApiError);
    expect(err).toMatchObject({ errcode: 40029, kind: 'request', rid: '64a1-2b3c', code: 'WXO_ERR_WECHAT_API' });
  });

  it('returns binary answers when asked, and refuses a non-JSON body otherwise', async () => {
    mode = 'image';
    const r = await http().request<{ contentType: string; data: Buffer }>({ method: 'GET', path: '/wxa/get_qrcode', binary: true });
    expect(r.contentType).toBe('image/jpeg');
    expect([...r.data]).toEqual([0xff, 0xd8, 0xff]);
    mode = 'html';
    await expect(http().request({ method: 'GET', path: '/x' })).rejects.toThrow(/not JSON/);
  });
});
