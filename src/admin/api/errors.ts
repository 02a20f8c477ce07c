import { WxOpenError } from '../../errors.js';

/** The admin API's refusals beyond authentication (which answers 401 from the auth hook). */
export class AdminNotFoundError extends WxOpenError {
  readonly code = 'WXO_ERR_NOT_FOUND';
  override readonly statusCode = 404;
}

/** A key that may not do this (a scope it lacks, or a component-wide resource for a narrowed key). */
export class AdminForbiddenError extends WxOpenError {
  readonly code = 'WXO_ERR_FORBIDDEN';
  override readonly statusCode = 403;
}

/** An embedder replaced a provider (jsapi_ticket, message log) with none. */
export class AdminNotAvailableError extends WxOpenError {
  readonly code = 'WXO_ERR_NOT_IMPLEMENTED';
  override readonly statusCode = 501;
}
