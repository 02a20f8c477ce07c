import type { Command } from 'commander';
import { unconfiguredSealKeys } from '../../credentials/seal-keys.js';
import { cliConfig, openCommandStore } from '../context.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `wxopen secrets discard-unreadable`: the way out when an old WXOPEN_SECRET_KEY is truly lost. */
export function registerSecretsCommands(program: Command): void {
  program
    .command('secrets')
    .description('stored secrets (sealed with WXOPEN_SECRET_KEY)')
    .command('discard-unreadable')
    .description('drop stored secrets sealed with a key that is neither WXOPEN_SECRET_KEY nor in WXOPEN_PREVIOUS_SECRET_KEYS (only when that key is lost)')
    .option('--yes', 'discard them; without it, only list what would be discarded')
    .addHelpText(
      'after',
      `
Cached tokens, jsapi tickets, login sessions and pending authorization codes are fetched again or redone.
Authorizers whose refresh token is dropped become unauthorized: run \`wxopen authorizers sync\` afterwards,
which restores them from WeChat's api_get_authorizer_list.`,
    )
    .action(async (o: { yes?: boolean }) => {
      const config = cliConfig();
      const store = await openCommandStore(config);
      try {
        const found = await unconfiguredSealKeys(store, config.secretKeys, { everywhere: true });
        if (found.length === 0) {
          out('every stored secret opens with the configured keys: nothing to discard');
          return;
        }
        const list = found.map((f) => `${f.kid} (${f.count} value${f.count === 1 ? '' : 's'})`).join(', ');
        if (!o.yes) {
          out(`would discard the stored secrets sealed with ${list}; run again with --yes to discard them (if you still have the key, add it to WXOPEN_PREVIOUS_SECRET_KEYS instead)`);
          process.exitCode = 1;
          return;
        }
        const counts = await store.discardSealed(found.map((f) => f.kid), Date.now());
        const done = Object.entries(counts).filter(([, n]) => n > 0).map(([where, n]) => `${where}: ${n}`).join(', ');
        out(`discarded the stored secrets sealed with ${list} (${done}); run \`wxopen authorizers sync\` to restore the authorizers' refresh tokens`);
      } finally {
        await store.close();
      }
    });
}
