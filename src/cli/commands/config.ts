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
      const entries = Object.entries(config);
      // The widest key plus two spaces: a key never runs into its value.
      const width = Math.max(...entries.map(([k]) => k.length)) + 2;
      process.stdout.write(entries.map(([k, v]) => `${k.padEnd(width)}${show(v)}\n`).join(''));
    });
}
