import type { Command } from 'commander';
import { loadConfig, redactConfig } from '../../config.js';

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration from the environment and print it with secrets redacted')
    .action(() => {
      const config = loadConfig();
      process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    });
}
