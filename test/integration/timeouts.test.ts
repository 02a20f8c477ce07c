import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { rawRequest, slowClient } from '../helpers/raw-http.js';

/**
 * Slow clients against the real listener. Socket timeouts are real time, so the bounds are short
 * (hundreds of ms) and the assertions generous (a loaded CI machine).
 */
describe('request timeouts and bounded shutdown', () => {
  let p: TestPlatform | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });
  const port = () => Number(new URL(p!.url).port);

  it('cuts off a push whose body stalls (408) and a slow-loris on headers and on other routes', async () => {
    p = await startTestPlatform({ env: { WXOPEN_REQUEST_TIMEOUT_MS: '1500', WXOPEN_HEADERS_TIMEOUT_MS: '600', WXOPEN_PUSH_TIMEOUT_MS: '400' } });
    const started = Date.now();
    const [push, route, headers] = await Promise.all([
      // Half a body on a push URL: the fast path's own body deadline.
      rawRequest(port(), `POST /wechat/component?timestamp=1&nonce=2&msg_signature=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<xml><Encrypt>`, 10_000),
      // Half a body elsewhere: the listener's requestTimeout.
      rawRequest(port(), `POST /authorize HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc`, 10_000),
      // Headers that never finish: the listener's headersTimeout.
      rawRequest(port(), `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: `, 10_000),
    ]);
    expect(push).toMatchObject({ hung: false, status: 408 });
    expect(route).toMatchObject({ hung: false, status: 408 });
    expect(headers).toMatchObject({ hung: false, status: 408 });
    // Without the bounds these sockets wait 300 s (Node's default) and the calls above hit 10 s.
    expect(Date.now() - started).toBeLessThan(6000);
  }, 30_000);

  it('close() finishes within the grace period while 5 slow clients keep their sockets busy', async () => {
    // Long request timeouts, so only the shutdown grace can end these connections.
    p = await startTestPlatform({ env: { WXOPEN_REQUEST_TIMEOUT_MS: '60000', WXOPEN_PUSH_TIMEOUT_MS: '60000', WXOPEN_SHUTDOWN_GRACE_MS: '300' } });
    const clients = [
      slowClient(port(), 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'a'.repeat(500), 50),
      slowClient(port(), 'POST /wechat/component?timestamp=1 HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'a'.repeat(500), 50),
      slowClient(port(), 'POST /wechat/component?timestamp=1&nonce=2&msg_signature=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n' + '<'.repeat(2000), 5),
      slowClient(port(), 'POST /authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n' + 'a'.repeat(2000), 5),
      slowClient(port(), 'POST /wechat/authorizer/wx570bc396a51b8ff8 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + '1\r\na\r\n'.repeat(300), 5),
    ];
    // Let every client get its request line (and some body) in.
    await new Promise((r) => setTimeout(r, 700));
    const started = Date.now();
    await p.close();
    const took = Date.now() - started;
    p = undefined;
    await Promise.all(clients.map((c) => Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))])));
    for (const c of clients) c.stop();
    // Grace 300 ms; before the fix this waited for the clients (minutes).
    expect(took).toBeLessThan(3000);
    expect(clients.every((c) => c.socket.destroyed)).toBe(true);
  }, 30_000);
});
