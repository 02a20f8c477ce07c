import { WxOpenError } from '../errors.js';

export interface FleetIssue {
  appid?: string;
  field: string;
  problem: string;
}

/** A deploy that cannot start as given; nothing was stored or sent. Lists every problem found. */
export class FleetValidationError extends WxOpenError {
  readonly code = 'WXO_ERR_FLEET_VALIDATION';
  override readonly statusCode = 400;
  constructor(readonly issues: readonly FleetIssue[]) {
    const shown = issues.slice(0, 5).map((i) => `${i.appid ? `${i.appid} ` : ''}${i.field}: ${i.problem}`);
    super(`invalid deploy (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${shown.join('; ')}${issues.length > 5 ? '; …' : ''}`);
  }
}

export class FleetNotFoundError extends WxOpenError {
  readonly code = 'WXO_ERR_FLEET_NOT_FOUND';
  override readonly statusCode = 404;
  constructor(readonly jobId: string) {
    super(`no deploy job ${jobId}`);
  }
}

/** The operation does not apply to the job in its current status (e.g. resume a finished job). */
export class FleetStateError extends WxOpenError {
  readonly code = 'WXO_ERR_FLEET_STATE';
  override readonly statusCode = 409;
  constructor(message: string) {
    super(message);
  }
}
