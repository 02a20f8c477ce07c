import { createConnection, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WeChatHttp } from '../../../src/api/http.js';
import { TicketMissingError, WeChatApiError } from '../../../src/errors.js';
import { errorFields } from '../../../src/util/log-error.js';
import { captureLogger } from '../../helpers/logs.js';

/** A loopback port that was just free: nothing answers on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('errorFields', () => {
  it('an unreachable WeChat is one line: the message, the network code and the host tried, no stack', async () => {
    const base = `http://127.0.0.1:${await closedPort()}`;
    const err = await new WeChatHttp({ bases: [base], busyRetries: 0 }).request({ method: 'POST', path: '/cgi-bin/x', body: {} }).catch((e: unknown) => e);
    const { logger, lines } = captureLogger('info');
    logger.warn(errorFields(err), 'call failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: 'ECONNREFUSED', host: base, error: expect.stringMatching(new RegExp(`^/cgi-bin/x: ECONNREFUSED on ${base} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\)$`)) });
    expect(lines[0]).not.toHaveProperty('err');
    expect(JSON.stringify(lines[0])).not.toMatch(/\bat .*\.[jt]s:\d+/);
  });

  it('other anticipated failures are their message and code', () => {
    expect(errorFields(new WeChatApiError(-1, 'system error', '/cgi-bin/x'))).toEqual({ error: expect.stringMatching(/^\/cgi-bin\/x failed with errcode -1/), code: 'WXO_ERR_WECHAT_API', errcode: -1 });
    expect(errorFields(new TicketMissingError('none has been received yet'))).toEqual({ error: expect.stringMatching(/^no usable component_verify_ticket/), code: 'WXO_ERR_TICKET_MISSING' });
  });

  it("the machine's surroundings failing (a system call's error, ioredis giving up a command) is one line", async () => {
    const refused = await new Promise<Error>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: 1 });
      socket.once('error', resolve);
    });
    expect(errorFields(refused)).toEqual({ error: expect.stringContaining('ECONNREFUSED'), code: 'ECONNREFUSED' });
    const gaveUp = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' });
    expect(errorFields(gaveUp)).toEqual({ error: gaveUp.message, code: 'MaxRetriesPerRequestError' });
    // A code alone (no system call) is not enough: an error of a library's own stays a bug with its stack.
    expect(errorFields(Object.assign(new Error('x'), { code: 'ERR_SOMETHING' }))).toHaveProperty('err');
  });

  it('anything else keeps its stack', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const { logger, lines } = captureLogger('info');
    logger.error(errorFields(bug), 'refresher tick failed');
    expect(lines[0]).toMatchObject({ err: { type: 'TypeError', stack: expect.stringContaining('log-error.test.ts') } });
  });
});
