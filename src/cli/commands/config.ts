import type { Command } from 'commander';
import { redactConfig } from '../../config.js';
import { cliConfig } from '../context.js';

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration (environment over .env over WXOPEN_CONFIG_FILE) and print it with secrets redacted')
    .option('--json', 'print one JSON object (numbers as numbers, lists as arrays)')
    .action((opts: { json?: boolean }) => {
      const config = redactConfig(cliConfig());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(config)}\n`);
        return;
      }
      const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(', ') : '-') : v === undefined || v === null ? '-' : String(v));
      process.stdout.write(Object.entries(config).map(([k, v]) => `${k.padEnd(20)}${show(v)}\n`).join(''));
    });
}
