import { permissionName } from '../i18n/index.js';
import type { AuthorizerRecord } from '../store/types.js';

export type AccountType = 'official' | 'miniprogram' | 'unknown';

/** A mini program's api_get_authorizer_info carries MiniProgramInfo (spec 3.5). */
export function accountType(r: AuthorizerRecord): AccountType {
  if (!r.info) return 'unknown';
  return 'MiniProgramInfo' in r.info ? 'miniprogram' : 'official';
}

export function accountName(r: AuthorizerRecord): string | null {
  const n = r.info?.nick_name;
  return typeof n === 'string' && n !== '' ? n : null;
}

/** A stored sandbox avatar from before the sandbox served its own: qlogo's address, unreachable offline. */
const OLD_SANDBOX_AVATAR = /^https?:\/\/wx\.qlogo\.cn\/mmopen\/(gh_[0-9A-Za-z_]{1,40})\/(\d{1,3})$/;

/**
 * The avatar to show for a stored profile. In sandbox mode every WeChat host is the simulator, so a qlogo
 * address stored by an older version (kept until the account is refreshed) is shown from the simulator.
 */
export function avatarSrc(info: Record<string, unknown> | null, sandboxBase: string | undefined): string | undefined {
  const url = info?.head_img;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return undefined;
  const old = sandboxBase === undefined ? null : OLD_SANDBOX_AVATAR.exec(url);
  return old ? `${sandboxBase!.replace(/\/+$/, '')}/mmopen/${old[1]}/${old[2]}` : url;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The API's view of an authorizer: never a token. */
export function authorizerView(r: AuthorizerRecord): Record<string, unknown> {
  return {
    authorizer_appid: r.authorizerAppid,
    name: accountName(r),
    head_img: typeof r.info?.head_img === 'string' ? r.info.head_img : null,
    type: accountType(r),
    status: r.status,
    status_reason: r.statusReason,
    permissions: r.funcInfo.map((id) => ({ id, name_zh: permissionName(id, 'zh-CN'), name_en: permissionName(id, 'en') })),
    access_token_expires_at: iso(r.accessExpiresAt),
    authorized_at: iso(r.authorizedAt),
    updated_at: iso(r.updatedAt),
  };
}

export interface AuthorizerFilter {
  type?: AccountType;
  status?: string;
  permission?: number;
  q?: string;
}

export function matches(r: AuthorizerRecord, f: AuthorizerFilter): boolean {
  if (f.type && accountType(r) !== f.type) return false;
  if (f.status && r.status !== f.status) return false;
  if (f.permission !== undefined && !r.funcInfo.includes(f.permission)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const hay = [r.authorizerAppid, accountName(r) ?? '', String(r.info?.user_name ?? ''), String(r.info?.principal_name ?? '')].join(' ').toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

/** Every stored authorizer, in appid order (operators have hundreds, not millions; filters run here). */
export async function allAuthorizers(store: { listAuthorizers: (c: string, o: { after?: string; limit?: number }) => Promise<AuthorizerRecord[]> }, c: string, cap = 20_000): Promise<AuthorizerRecord[]> {
  const out: AuthorizerRecord[] = [];
  for (let after: string | undefined; out.length < cap; ) {
    const batch = await store.listAuthorizers(c, { after, limit: 500 });
    out.push(...batch);
    if (batch.length < 500) break;
    after = batch.at(-1)!.authorizerAppid;
  }
  return out;
}
