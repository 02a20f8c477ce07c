import { UpstreamError } from '../errors.js';
import { instancePaths, readServerRuntime } from '../server/instance.js';
import { cliConfig } from './context.js';
import { systemCause } from './failures.js';

/**
 * What to do when a sandbox-mode command finds no WeChat: the simulator lives inside `wxopen serve`, which a user
 * who stopped it, or ran the command from another directory (another project, so no server record), cannot tell
 * from `ECONNREFUSED on http://localhost:3001` alone.
 */
export function sandboxHint(err: unknown): string | undefined {
  if (!(err instanceof UpstreamError)) return undefined;
  if (systemCause(err)?.code !== 'ECONNREFUSED' && !err.message.includes('ECONNREFUSED')) return undefined;
  let config;
  try {
    config = cliConfig();
  } catch {
    return undefined;
  }
  if (config.mode !== 'sandbox') return undefined;
  const runtime = readServerRuntime(instancePaths(config).runtime);
  if (runtime?.sandboxUrl) return `the simulated WeChat of the server at ${runtime.url} (pid ${runtime.pid}) does not answer; restart \`wxopen serve\``;
  return `in sandbox mode WeChat is the simulator that \`wxopen serve\` embeds (or \`wxopen sandbox\` runs), and no running server was found for the project at ${config.projectDir}: start one there, or run this command in that server's project directory`;
}
