import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_TEST_ACCOUNTS } from '../../src/messages/release-test.js';
import type { ReleaseTestReport } from '../../src/sandbox/index.js';
import { startWorld, type World } from '../helpers/world.js';

describe("WeChat's full-network-release test, run by the sandbox as WeChat runs it", () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
    await w.settle();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  // Every group: WeChat picks one at random (spec 7).
  for (const account of RELEASE_TEST_ACCOUNTS) {
    it(`passes for group ${account.group}, ${account.kind} ${account.appid}`, async () => {
      const queryAuthBefore = w.sandbox.counters.get('/cgi-bin/component/api_query_auth');
      const report = await w.sandbox.runReleaseTest(account.appid);
      expect(report, JSON.stringify(report.cases)).toMatchObject({ appid: account.appid, userName: account.userName, kind: account.kind, group: account.group, pass: true });
      const names = report.cases.map((c) => c.name);
      expect(names).toEqual(account.kind === 'official' ? ['authorized', 'ticket', 'text', 'event', 'query_auth_code'] : ['authorized', 'ticket', 'query_auth_code']);
      for (const c of report.cases) expect(c.ms).toBeLessThan(5000);
      // The authorized push and the QUERY_AUTH_CODE each cost one exchange.
      expect(w.sandbox.counters.get('/cgi-bin/component/api_query_auth') - queryAuthBefore).toBe(2);
      const sent = w.sandbox.sentMessages(account.appid).at(-1)!;
      expect(sent).toMatchObject({ msgtype: 'text', body: { text: { content: expect.stringMatching(/^queryauthcode@@@.+_from_api$/) } } });
      // Every message of the test is in the message log.
      const stored = await w.store.listMessages(w.config.componentAppid, { authorizerAppid: account.appid });
      expect(stored.length).toBe(account.kind === 'official' ? 3 : 1);
    }, 30_000);
  }

  it("still hands a test account's mini-program audit results to the handlers (the fleet), answering as the test expects", async () => {
    const mp = RELEASE_TEST_ACCOUNTS.find((a) => a.kind === 'miniprogram')!;
    const seen: string[] = [];
    w.context.router.on('event.weapp_audit_fail', (m) => void seen.push(`${m.authorizerAppid}:${m.data.Reason}`));
    // Any other event of a test account is answered by the responder alone.
    w.context.router.on('event.wxa_nickname_audit', (m) => void seen.push(`nickname:${m.authorizerAppid}`));
    const res = await w.sandbox.sendMessage(mp.appid, { FromUserName: 'ofleet', MsgType: 'event', Event: 'weapp_audit_fail', Reason: '页面空白', FailTime: 1_700_000_100, ScreenShot: '' });
    expect(res.ok).toBe(true);
    expect(res.reply).toMatchObject({ MsgType: 'text', Content: 'weapp_audit_failfrom_callback' });
    const other = await w.sandbox.sendMessage(mp.appid, { FromUserName: 'ofleet', MsgType: 'event', Event: 'wxa_nickname_audit', ret: 2, nickname: 'n', reason: '' });
    expect(other.reply).toMatchObject({ Content: 'wxa_nickname_auditfrom_callback' });
    expect(seen).toEqual([`${mp.appid}:页面空白`]);
  });

  it('is reachable through the sandbox admin endpoint, with a chosen event', async () => {
    const res = await fetch(`${w.sandbox.url}/sandbox/admin/release-test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appid: 'wx9252c5e0bb1836fc', event: 'CLICK' }),
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as ReleaseTestReport;
    expect(report.pass).toBe(true);
    expect(report.cases.find((c) => c.name === 'event')).toMatchObject({ pass: true, detail: expect.stringContaining('CLICKfrom_callback') });
    const refused = await fetch(`${w.sandbox.url}/sandbox/admin/release-test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appid: 'wx3a7f2c9e1b4d6f80' }),
    });
    expect(refused.status).toBe(400);
  });
});

describe('the release test fails when the responder is off', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld({ env: { WXOPEN_RELEASE_TEST_RESPONDER: 'off' } });
    await w.settle();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('reports the text, event and QUERY_AUTH_CODE cases as failed', async () => {
    const oa = await w.sandbox.runReleaseTest('wx570bc396a51b8ff8', { customerServiceDeadlineMs: 300 });
    expect(oa.pass).toBe(false);
    const byName = Object.fromEntries(oa.cases.map((c) => [c.name, c]));
    expect(byName.authorized!.pass).toBe(true);
    expect(byName.ticket!.pass).toBe(true);
    expect(byName.text).toMatchObject({ pass: false, detail: expect.stringContaining('no passive reply') });
    expect(byName.event).toMatchObject({ pass: false, detail: expect.stringContaining('no passive reply') });
    expect(byName.query_auth_code).toMatchObject({ pass: false, detail: expect.stringContaining('no customer-service message') });
    const mp = await w.sandbox.runReleaseTest('wxd101a85aa106f53e', { customerServiceDeadlineMs: 300 });
    expect(mp.pass).toBe(false);
    expect(mp.cases.find((c) => c.name === 'query_auth_code')!.pass).toBe(false);
  });

  it('fails a platform whose handler answers the text case wrongly', async () => {
    w.context.router.on('message.text', (m) => ({ kind: 'text', content: `${m.content}_callbak` }));
    const report = await w.sandbox.runReleaseTest('wx8e1097c5bc82cde9', { customerServiceDeadlineMs: 300 });
    expect(report.cases.find((c) => c.name === 'text')).toMatchObject({
      pass: false,
      detail: 'reply Content is "TESTCOMPONENT_MSG_TYPE_TEXT_callbak", expected "TESTCOMPONENT_MSG_TYPE_TEXT_callback"',
    });
    // A passive reply to QUERY_AUTH_CODE is not the empty answer WeChat requires.
    expect(report.cases.find((c) => c.name === 'query_auth_code')).toMatchObject({ pass: false, detail: expect.stringContaining('expected an empty reply') });
  });
});
