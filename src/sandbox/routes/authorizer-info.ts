import type { FastifyRequest } from 'fastify';
import type { SandboxAccount } from '../accounts.js';
import { codeFor } from '../code-state.js';
import type { SandboxContext } from '../context.js';
import type { Authorization } from '../state.js';
import { avatarUrl } from './avatar.js';

export function funcInfo(auth: Authorization): Array<{ funcscope_category: { id: number } }> {
  return auth.funcIds.map((id) => ({ funcscope_category: { id } }));
}

/** api_get_authorizer_info (spec 3.5); `MiniProgramInfo` is present only for mini programs. */
export function authorizerInfo(ctx: SandboxContext, request: FastifyRequest, account: SandboxAccount, auth: Authorization) {
  const info: Record<string, unknown> = {
    nick_name: account.nickName,
    head_img: avatarUrl(ctx, request, account),
    service_type_info: { id: account.serviceTypeId ?? (account.type === 'official' ? 2 : 0) },
    verify_type_info: { id: account.verifyTypeId ?? 0 },
    user_name: account.userName,
    alias: account.alias ?? '',
    qrcode_url: `http://mmbiz.qpic.cn/mmbiz_jpg/${account.userName}/0`,
    principal_name: account.principalName,
    signature: account.signature ?? '',
    account_status: account.accountStatus ?? 1,
    business_info: { open_pay: 0, open_shake: 0, open_scan: 0, open_card: 0, open_store: 0 },
    register_type: 0,
    basic_config: { is_phone_configured: true, is_email_configured: true },
  };
  if (account.type === 'miniprogram') {
    const d = codeFor(ctx.state, account.appid).domains;
    info.MiniProgramInfo = {
      network: {
        RequestDomain: d.requestdomain,
        WsRequestDomain: d.wsrequestdomain,
        UploadDomain: d.uploaddomain,
        DownloadDomain: d.downloaddomain,
        UDPDomain: d.udpdomain,
        TCPDomain: d.tcpdomain,
      },
      categories: (account.categories ?? []).map((c) => ({ first: c.first_class, second: c.second_class })),
      visit_status: codeFor(ctx.state, account.appid).visitClosed ? 1 : 0,
    };
  }
  return {
    authorizer_info: info,
    authorization_info: { authorizer_appid: account.appid, authorizer_refresh_token: auth.refreshToken, func_info: funcInfo(auth) },
  };
}
