import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { cliConfig, withRunningSandbox } from '../context.js';

/** `wxopen doctor`: what is wrong, before WeChat says so. Exit 1 when a check fails (warnings pass). */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check configuration, database, Redis, ticket, component token, IP whitelist, public URL, clock and authorizers; exit 1 on a failure')
    .option('--json', 'print one JSON object: ok, summary counts and every check (id, status, message, fix, data)')
    .option('--timeout <ms>', 'bound of each network probe', '5000')
    .addHelpText(
      'after',
      '\nEach check prints pass, warn, fail or skip, with the fix. Warnings keep exit code 0; any failure makes it 1.\nRun it on the server itself: the public URL and the egress IP are seen from where it runs.',
    )
    .action(async (opts: { json?: boolean; timeout: string }) => {
      const [{ runDoctor }, { formatReport }] = await Promise.all([import('../doctor/run.js'), import('../doctor/report.js')]);
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new ConfigError('--timeout', 'must be a whole number of milliseconds, at least 1');
      const report = await runDoctor({ loadConfig: () => withRunningSandbox(cliConfig()), timeoutMs });
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
