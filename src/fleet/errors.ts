import { WeChatApiError, WxOpenError } from '../errors.js';

export interface FleetIssue {
  appid?: string;
  field: string;
  problem: string;
}

/** What was checked: a deploy, one merchant's ext_json to store, or an ext_json file given to a deploy. */
export type FleetValidationSubject = 'deploy' | 'ext_json' | 'ext_json file';

/**
 * Input the fleet refuses as given (a deploy, or an ext_json to store); nothing was stored or sent. Lists every
 * problem found. The message names the subject: "invalid deploy" for an ext_json that was only being stored sent
 * the operator looking for a deploy.
 */
export class FleetValidationError extends WxOpenError {
  readonly code = 'WXO_ERR_FLEET_VALIDATION';
  override readonly statusCode = 400;
  constructor(
    readonly issues: readonly FleetIssue[],
    readonly subject: FleetValidationSubject = 'deploy',
  ) {
    const shown = issues.slice(0, 5).map((i) => `${i.appid ? `${i.appid} ` : ''}${i.field}: ${i.problem}`);
    super(`invalid ${subject} (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${shown.join('; ')}${issues.length > 5 ? '; …' : ''}`);
  }
}

/**
 * The template library could not be read (WeChat unreachable, or it refused gettemplatelist), so the template id
 * cannot be checked. No job was created: a job with an unknown template would fail at every merchant's commit.
 */
export class FleetTemplateCheckError extends WxOpenError {
  readonly code = 'WXO_ERR_FLEET_TEMPLATE_CHECK';
  override readonly statusCode = 502;
  /** Whether trying again may help: a network failure or a busy WeChat, not a refusal such as a missing permission. */
  readonly retryable: boolean;
  readonly errcode: number | undefined;
  constructor(
    readonly templateId: number,
    cause: unknown,
  ) {
    const retryable = !(cause instanceof WeChatApiError) || cause.retryable;
    const reason = (cause instanceof WxOpenError ? cause.detail : cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!.trim();
    super(`cannot check template ${templateId} against the template library (${reason}); no deploy job was created${retryable ? ', try again' : ''}`, { cause });
    this.retryable = retryable;
    this.errcode = cause instanceof WeChatApiError ? cause.errcode : undefined;
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
