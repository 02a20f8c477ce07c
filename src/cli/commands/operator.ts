import type { Command } from 'commander';
import { AdminAuth, keyView, OPERATOR_HASH_TTL_MS, SCOPES, type Scope } from '../../admin/credentials.js';
import { CliError } from '../failures.js';
import { cliConfig, openCommandPlatform, openCommandStore } from '../context.js';
import { appidArgs } from '../appid-arg.js';

// The project's configuration and database, as every other command: `.env`, paths against the project directory
// (so these work from any directory), and in sandbox mode the simulator the running server embeds.
async function withAuth<T>(fn: (auth: AdminAuth) => Promise<T>, config = cliConfig()): Promise<T> {
  const store = await openCommandStore(config);
  try {
    return await fn(new AdminAuth(store, config.componentAppid, Date.now));
  } finally {
    await store.close();
  }
}

const out = (s: string) => process.stdout.write(`${s}\n`);

/** `wxopen keys …`, `wxopen admin reset-token`, `wxopen authorizers sync`: the operator's CLI. */
export function registerOperatorCommands(program: Command): void {
  const keys = program.command('keys').description('scoped API keys for the operator API and token service (stored hashed)');
  keys
    .command('create')
    .description('create a key; its secret is printed once')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scope <scope...>', `scopes (${SCOPES.join(', ')})`, ['tokens:read'])
    .option('--authorizer <appid...>', 'limit the key to these authorizers (default: all)')
    .option('--json', 'print JSON')
    .action(async (o: { name: string; scope: string[]; authorizer?: string[]; json?: boolean }) => {
      const bad = o.scope.find((s) => !(SCOPES as readonly string[]).includes(s));
      if (bad) throw new CliError('WXO_ERR_USAGE', `--scope: unknown scope ${bad} (one of ${SCOPES.join(', ')})`);
      appidArgs(o.authorizer, '--authorizer');
      await withAuth(async (auth) => {
        const { key, record } = await auth.createKey({ name: o.name, scopes: o.scope as Scope[], authorizers: o.authorizer ?? null });
        if (o.json) return out(JSON.stringify({ key, ...keyView(record) }));
        out(`key ${record.keyId} (${record.scopes.join(', ')}${record.authorizers ? `; authorizers ${record.authorizers.join(', ')}` : ''})`);
        out(key);
        out('shown once: only its hash is stored.');
      });
    });
  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withAuth(async (auth) => {
        const list = (await auth.listKeys()).map(keyView);
        if (o.json) return out(JSON.stringify(list));
        if (list.length === 0) return out('no keys');
        for (const k of list) out(`${String(k.id).padEnd(12)} ${String(k.name).padEnd(20)} ${(k.scopes as string[]).join(',').padEnd(30)} ${k.authorizers ? (k.authorizers as string[]).join(',') : 'all authorizers'}${k.revoked_at ? `  revoked ${String(k.revoked_at)}` : ''}`);
      });
    });
  keys
    .command('revoke')
    .description('revoke a key')
    .argument('<id>', 'key id (from `wxopen keys list`)')
    .action(async (id: string) => {
      await withAuth(async (auth) => {
        if (!(await auth.revokeKey(id))) throw new CliError('WXO_ERR_NOT_FOUND', `no active key ${id}`);
        out(`revoked ${id}`);
      });
    });

  program
    .command('admin')
    .description('the operator token')
    .command('reset-token')
    .description('replace the stored operator token with a new one (printed once); running servers refuse the old one within 2 s, dashboard sessions end')
    .action(async () => {
      const config = cliConfig();
      // Only a stored token can be reset: a configured one wins over it, and sandbox mode makes a new one per start.
      if (config.adminToken !== undefined) {
        throw new CliError('WXO_ERR_ADMIN_TOKEN_CONFIGURED', 'the operator token is WXOPEN_ADMIN_TOKEN (environment or .env): change it there and restart');
      }
      if (config.mode === 'sandbox') {
        throw new CliError('WXO_ERR_SANDBOX_MODE', 'in sandbox mode the operator token is new at every start and printed by `wxopen serve`; nothing is stored to reset');
      }
      await withAuth(async (auth) => {
        const token = await auth.resetOperatorToken();
        out(token);
        out(`shown once: only its hash is stored. Running servers take it (and refuse the old one) within ${OPERATOR_HASH_TTL_MS / 1000} s.`);
      }, config);
    });

  program
    .command('authorizers')
    .description('authorizer maintenance')
    .command('sync')
    .description("reconcile the store with WeChat's api_get_authorizer_list (500 per page), fixing drift both ways")
    .option('--json', 'print the report as JSON')
    .action(async (o: { json?: boolean }) => {
      const p = await openCommandPlatform(cliConfig());
      try {
        const { formatReport, reconcileAuthorizers } = await import('../../admin/reconcile.js');
        const report = await reconcileAuthorizers(p.platform);
        out(o.json ? JSON.stringify(report) : formatReport(report));
      } finally {
        await p.close();
      }
    });
}
