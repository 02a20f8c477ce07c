import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';

/** Server and web-view domains (spec 5.3) and testers (spec 5.4); permission set 18. */

export interface DomainLists {
  requestdomain?: string[];
  wsrequestdomain?: string[];
  uploaddomain?: string[];
  downloaddomain?: string[];
  udpdomain?: string[];
  tcpdomain?: string[];
}

const list = z.array(z.string()).optional();
export const DomainAnswer = z.looseObject({
  requestdomain: list,
  wsrequestdomain: list,
  uploaddomain: list,
  downloaddomain: list,
  udpdomain: list,
  tcpdomain: list,
});
export const WebviewDomainAnswer = z.looseObject({ webviewdomain: list });
export const BindTesterAnswer = z.looseObject({ userstr: z.string() });
export const TestersAnswer = z.looseObject({ members: z.array(z.looseObject({ userstr: z.string() })) });
export type DomainAnswer = z.infer<typeof DomainAnswer>;

export function wxaSettingsApi(c: ApiCaller) {
  return {
    modifyDomain: (action: 'add' | 'delete' | 'set', domains: DomainLists) =>
      c.call({ method: 'POST', path: '/wxa/modify_domain', body: { action, ...domains } }, DomainAnswer),
    getDomain: () => c.call({ method: 'POST', path: '/wxa/modify_domain', body: { action: 'get' }, idempotent: true }, DomainAnswer),
    setWebviewDomain: (action: 'add' | 'delete' | 'set' | 'get', webviewdomain: string[] = []) =>
      c.call(
        { method: 'POST', path: '/wxa/setwebviewdomain', body: action === 'get' ? { action } : { action, webviewdomain }, idempotent: action === 'get' },
        WebviewDomainAnswer,
      ),
    bindTester: (wechatid: string) => c.call({ method: 'POST', path: '/wxa/bind_tester', body: { wechatid } }, BindTesterAnswer),
    unbindTester: (who: { wechatid: string } | { userstr: string }) => c.call({ method: 'POST', path: '/wxa/unbind_tester', body: who }, OkAnswer),
    listTesters: () =>
      c.call({ method: 'POST', path: '/wxa/memberauth', body: { action: 'get_experiencer' }, idempotent: true }, TestersAnswer),
  };
}
export type WxaSettingsApi = ReturnType<typeof wxaSettingsApi>;
