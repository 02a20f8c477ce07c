/**
 * A failure wxopen expects (WeChat busy or unreachable) is one log line naming the errcode or network code,
 * not a stack: here `api_get_authorizer_info` answering -1 while a merchant authorizes. The authorization
 * itself goes through (the profile is read again later).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '../helpers/logs.js';
import { until } from '../helpers/wait.js';
import { startWorld, type World } from '../helpers/world.js';

const INFO = '/cgi-bin/component/api_get_authorizer_info';
let w: World;
const { logger, lines } = captureLogger('info');

beforeAll(async () => {
  w = await startWorld({ logger });
  await w.sandbox.pushTicket();
  await w.settle();
});
afterAll(async () => {
  await w.close();
});

describe('expected upstream failures in the log', () => {
  it('api_get_authorizer_info answering -1 during an authorization: one line with errcode and code, no err or stack', async () => {
    const appid = w.sandbox.accounts.find((a) => a.type === 'official')!.appid;
    w.sandbox.faults.set(INFO, { type: 'system_busy' });
    await w.sandbox.authorize(appid);
    await w.settle();
    await until('the authorization', async () => ((await w.store.getAuthorizer(w.config.componentAppid, appid))?.status === 'authorized' ? true : undefined));
    const line = await until('the warning', () => lines.find((l) => l.msg === 'api_get_authorizer_info failed'));
    expect(line).toMatchObject({ level: 40, authorizerAppid: appid, errcode: -1, code: expect.any(String), error: expect.any(String) });
    expect(line).not.toHaveProperty('err');
    expect(JSON.stringify(line)).not.toMatch(/\bat .*\.[jt]s:\d+/);
    w.sandbox.faults.clear(INFO);
  });
});
