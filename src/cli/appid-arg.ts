import { APPID } from '../util/appid.js';
import { CliError } from './failures.js';

/**
 * An authorizer appid typed on the command line. A typo is a usage error naming it: left through, it reached the
 * store as an account that "has not authorized", or matched no merchant and did nothing. `option` names the flag
 * it came with, when it came with one.
 */
export function appidArg(value: string, option?: string): string {
  if (!APPID.test(value)) throw new CliError('WXO_ERR_USAGE', `${option ? `${option}: ` : ''}${value} is not an appid (wx and 16 letters or digits)`);
  return value;
}

/** Each appid of a variadic option (`--appid <appid...>`); absent stays absent. */
export function appidArgs<T extends readonly string[] | undefined>(values: T, option: string): T {
  for (const v of values ?? []) appidArg(v, option);
  return values;
}
