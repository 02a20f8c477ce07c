export { MiniProgramLogin, LoginCodeError, SessionExpiredError, DEFAULT_SESSION_TTL_MS } from './mini-login.js';
export type { LoginResult, LoginOptions } from './mini-login.js';
