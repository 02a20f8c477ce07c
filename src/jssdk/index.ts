export { JsSdk, JssdkDomainError, normalizeDomain } from './jssdk.js';
export type { JssdkConfig, JssdkOptions } from './jssdk.js';
