import { Command, CommanderError } from 'commander';
import { ConfigError, WxOpenError } from '../errors.js';
import { describeCause } from './failures.js';
import { sandboxHint } from './sandbox-hint.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDevCommands } from './commands/dev.js';
import { registerSandboxCommand } from './commands/sandbox.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokenCommands } from './commands/token.js';
import { registerOperatorCommands } from './commands/operator.js';
import { registerTemplateCommands } from './commands/templates.js';
import { registerDeployCommands } from './commands/deploy.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerSecretsCommands } from './commands/secrets.js';

export function createProgram(): Command {
  const program = new Command('wxopen')
    .description('WeChat Open Platform third-party platform: server, SDK and sandbox')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  registerServeCommand(program);
  registerConfigCommand(program);
  registerDevCommands(program);
  registerTokenCommands(program);
  registerSandboxCommand(program);
  registerOperatorCommands(program);
  registerTemplateCommands(program);
  registerDeployCommands(program);
  registerDoctorCommand(program);
  registerSecretsCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code; expected failures print one line, never a stack. */
export async function runCli(argv: string[]): Promise<number> {
  const program = createProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    // `--json` promises JSON on standard output: a failure is one object there too (`… --json | jq` reads the
    // error instead of empty input); standard error keeps the line a person reads.
    const json = argv.includes('--json') ? (body: object) => process.stdout.write(`${JSON.stringify(body)}\n`) : () => undefined;
    if (err instanceof ConfigError) {
      process.stderr.write(err.issues.map((i) => `wxopen: invalid configuration: ${i.variable} ${i.problem}\n`).join(''));
      json({ error: err.code, message: 'invalid configuration', issues: err.issues });
      return 78;
    }
    if (err instanceof WxOpenError) {
      const hint = sandboxHint(err);
      const message = hint ? `${err.detail}; ${hint}` : err.detail;
      process.stderr.write(`wxopen: ${message} (${err.code})\n`);
      json({ error: err.code, message });
      return 1;
    }
    // Unexpected: still one line; the stack only on request.
    if (process.env.WXOPEN_DEBUG) throw err;
    process.stderr.write(`wxopen: ${describeCause(err)} (set WXOPEN_DEBUG=1 for the stack)\n`);
    json({ error: 'WXO_ERR_UNEXPECTED', message: describeCause(err) });
    return 1;
  }
}
