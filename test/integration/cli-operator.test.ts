import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, oneLine, startProject, wxopen, type ServeProcess } from '../helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);

/** The operator's commands read the project's settings like every other command: from any directory in it. */
describe('wxopen keys and wxopen authorizers sync, from a subdirectory of a project whose server runs', { timeout: 180_000 }, () => {
  let server: ServeProcess;
  let dir: string;
  let sub: string;
  let adminUrl: string;
  beforeAll(async () => {
    // A port of its own: the sandbox the server embeds is not at any default address.
    let port: number;
    ({ dir, port, server } = await startProject('wxopen-operator-cli-'));
    adminUrl = `http://127.0.0.1:${port + 2}`;
    sub = join(dir, 'src', 'jobs');
    mkdirSync(sub, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('authorizers sync reconciles the project database with the running sandbox', async () => {
    const token = /admin token\s+(\S+)/.exec(server.out)![1]!;
    const appid = 'wx5c9d0e3a7f1b2846';
    const authorized = await fetch(`${server.sandboxUrl}/sandbox/admin/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ appid, func_ids: [17, 18] }),
    });
    expect(authorized.status).toBe(200);
    const r = await wxopen(['authorizers', 'sync', '--json'], { cwd: sub });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { listed: number; stored: number; added: string[] };
    expect(report.listed).toBe(1);
    // Either the push stored it first or the sync added it: either way the project's database has it now.
    const token2 = await wxopen(['token', 'authorizer', appid, '--json'], { cwd: sub });
    expect(token2.status, token2.stderr).toBe(0);
  });

  it('keys: create, list, revoke; a bad scope and an unknown key are one-line failures, not configuration errors', async () => {
    const created = await wxopen(['keys', 'create', '--name', 'billing', '--scope', 'tokens:read', '--json'], { cwd: sub });
    expect(created.status, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { key: string; id: string; scopes: string[] };
    expect(key.scopes).toEqual(['tokens:read']);
    const list = JSON.parse((await wxopen(['keys', 'list', '--json'], { cwd: sub })).stdout) as Array<{ id: string; revoked_at: string | null }>;
    expect(list).toEqual([expect.objectContaining({ id: key.id, revoked_at: null })]);
    // The running server accepts it at once: same database.
    const status = await fetch(`${adminUrl}/api/v1/status`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(status.status).not.toBe(401);

    const bogus = await wxopen(['keys', 'create', '--name', 'x', '--scope', 'bogus'], { cwd: sub });
    expect(bogus.status).toBe(1);
    expect(oneLine(bogus.stderr)).toMatch(/^wxopen: --scope: unknown scope bogus \(one of .+\) \(WXO_ERR_USAGE\)$/);
    const unknown = await wxopen(['keys', 'revoke', 'k_nope'], { cwd: sub });
    expect(unknown.status).toBe(1);
    expect(oneLine(unknown.stderr)).toBe('wxopen: no active key k_nope (WXO_ERR_NOT_FOUND)');
    const revoked = await wxopen(['keys', 'revoke', key.id], { cwd: sub });
    expect(revoked.stdout).toBe(`revoked ${key.id}\n`);
  });

  it('every command taking an authorizer appid refuses what is not one as a usage error naming it', async () => {
    const notAppid = (value: string, option?: string) => `wxopen: ${option ? `${option}: ` : ''}${value} is not an appid (wx and 16 letters or digits) (WXO_ERR_USAGE)`;
    for (const [args, line] of [
      [['token', 'authorizer', 'foo'], notAppid('foo')],
      [['token', 'authorizer', 'wx123', '--force', '--json'], notAppid('wx123')],
      [['deploy', 'ext-json', 'set', 'foo', '{}'], notAppid('foo')],
      [['deploy', 'ext-json', 'get', 'foo'], notAppid('foo')],
      [['deploy', 'ext-json', 'delete', 'foo'], notAppid('foo')],
      [['deploy', 'create', '--template', '1', '--user-version', '1.0.0', '--appid', 'wx5c9d0e3a7f1b2846', 'foo'], notAppid('foo', '--appid')],
      [['deploy', 'retry', 'fj_0000000000000000', '--appid', 'foo'], notAppid('foo', '--appid')],
      [['deploy', 'undo', 'fj_0000000000000000', '--appid', 'foo'], notAppid('foo', '--appid')],
      [['deploy', 'rollback', 'fj_0000000000000000', '--appid', 'foo'], notAppid('foo', '--appid')],
      [['keys', 'create', '--name', 'x', '--authorizer', 'foo'], notAppid('foo', '--authorizer')],
    ] as const) {
      const r = await wxopen([...args], { cwd: sub });
      // With --json the same failure is a JSON object on stdout too; without it stdout stays empty.
      const json = (args as readonly string[]).includes('--json') ? `${JSON.stringify({ error: 'WXO_ERR_USAGE', message: line.slice('wxopen: '.length, -' (WXO_ERR_USAGE)'.length) })}\n` : '';
      expect([args.join(' '), r.status, oneLine(r.stderr), r.stdout]).toEqual([args.join(' '), 1, line, json]);
    }
    // An appid that has not authorized the platform is still told apart from a typo.
    const absent = await wxopen(['token', 'authorizer', 'wx0000000000000000'], { cwd: sub });
    expect(absent.status).toBe(1);
    expect(oneLine(absent.stderr)).toMatch(/^wxopen: authorizer wx0000000000000000 has not authorized this platform .*\(WXO_ERR_\w+\)$/);
  });

  it('admin reset-token says why there is nothing to reset, instead of storing a token no server reads', async () => {
    const sandbox = await wxopen(['admin', 'reset-token'], { cwd: sub });
    expect(sandbox.status).toBe(1);
    expect(oneLine(sandbox.stderr)).toMatch(/^wxopen: in sandbox mode the operator token is new at every start .*\(WXO_ERR_SANDBOX_MODE\)$/);
    const configured = await wxopen(['admin', 'reset-token'], { cwd: sub, env: { WXOPEN_ADMIN_TOKEN: 'a-configured-operator-token-0123' } });
    expect(configured.status).toBe(1);
    expect(oneLine(configured.stderr)).toMatch(/\(WXO_ERR_ADMIN_TOKEN_CONFIGURED\)$/);
  });
});
