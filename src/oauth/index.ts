export { OfficialAccountOAuth, OAuthCodeError, OAuthTokenAnswer, SnsUserInfo } from './web-oauth.js';
export type { AuthorizeUrlInput, OAuthOptions } from './web-oauth.js';
