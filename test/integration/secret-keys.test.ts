import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../../src/config.js';
import { SecretBox, SecretBoxError } from '../../src/crypto/secret-box.js';
import { createStore } from '../../src/store/create-store.js';
import { ensureBuilt, oneLine, wxopen } from '../helpers/cli.js';
import { startWorld, type World } from '../helpers/world.js';

const MP = 'wx5c9d0e3a7f1b2846';
const NEW_KEY = 'cd'.repeat(32);
/** The key id sealed values name (`v1.<kid>.…`): the first 8 hex digits of the SHA-256 of the key's bytes. */
const secretKeyId = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex').slice(0, 8);
const OLD_KID = secretKeyId(SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY);

beforeAll(() => ensureBuilt(), 180_000);

describe('a restart with a new WXOPEN_SECRET_KEY and the old one forgotten', { timeout: 240_000 }, () => {
  let w: World;
  let cwd: string;
  let file: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wxopen-keys-'));
    file = join(cwd, 'wx.db');
    // Tokens and the authorizer's refresh token stored sealed under the demo key, as a sandbox start leaves them.
    w = await startWorld({ realClock: true, store: () => createStore(`sqlite:${file}`) });
    await w.settle();
    await w.sandbox.authorize(MP, [17, 18]);
    await w.settle();
    await w.platform.componentToken();
    env = {
      WXOPEN_MODE: 'sandbox',
      WXOPEN_SECRET_KEY: NEW_KEY,
      WXOPEN_PUBLIC_URL: w.url,
      WXOPEN_API_BASE: w.sandbox.url,
      WXOPEN_API_BACKUP_BASES: w.sandbox.url,
      WXOPEN_MP_BASE: w.sandbox.url,
      WXOPEN_OPEN_BASE: w.sandbox.url,
      WXOPEN_DATABASE_URL: `sqlite:${file}`,
      LOG_LEVEL: 'silent',
    };
  }, 120_000);
  afterAll(async () => w?.close());

  it('serve refuses to start with one line naming the key id and WXOPEN_PREVIOUS_SECRET_KEYS; doctor fails secret-keys', async () => {
    const r = await wxopen(['serve', '--port', '0', '--no-sandbox'], { cwd, env });
    expect(r.status, r.stderr).toBe(78);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^wxopen: invalid configuration: WXOPEN_PREVIOUS_SECRET_KEYS stored secrets were sealed with key ${OLD_KID} \\(\\d+ values\\), not configured \\(configured: ${secretKeyId(NEW_KEY)}\\): add the old WXOPEN_SECRET_KEY to WXOPEN_PREVIOUS_SECRET_KEYS`));

    const d = await wxopen(['doctor', '--json'], { cwd, env });
    expect(d.status).not.toBe(0);
    const checks = (JSON.parse(d.stdout) as { checks: { id: string; status: string; message: string; fix?: string }[] }).checks;
    expect(checks.find((c) => c.id === 'secret-keys')).toMatchObject({ status: 'fail', message: expect.stringContaining(OLD_KID), fix: expect.stringMatching(/WXOPEN_PREVIOUS_SECRET_KEYS/) });
    expect(checks.find((c) => c.id === 'component-token')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/secret-keys check/) });

    const fixed = await wxopen(['doctor', '--json'], { cwd, env: { ...env, WXOPEN_PREVIOUS_SECRET_KEYS: SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY } });
    const again = (JSON.parse(fixed.stdout) as { checks: { id: string; status: string }[] }).checks;
    expect(again.find((c) => c.id === 'secret-keys')?.status).toBe('pass');
    expect(again.find((c) => c.id === 'component-token')?.status).toBe('pass');
  });

  it('a lost key: `secrets discard-unreadable` lists, then with --yes discards; `authorizers sync` restores the authorizer', async () => {
    const dry = await wxopen(['secrets', 'discard-unreadable'], { cwd, env });
    expect(dry.status).toBe(1);
    expect(dry.stdout).toMatch(new RegExp(`would discard the stored secrets sealed with ${OLD_KID} .*--yes`));

    const done = await wxopen(['secrets', 'discard-unreadable', '--yes'], { cwd, env });
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/discarded the stored secrets sealed with .*authorizers\.refresh_token_enc: 1.*authorizers sync/);

    const store = await createStore(`sqlite:${file}`);
    try {
      expect(await store.sealedKeyIds({ everywhere: true })).toEqual({});
    } finally {
      await store.close();
    }
    const sync = await wxopen(['authorizers', 'sync', '--json'], { cwd, env });
    expect(sync.status, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ restored: [MP] });
    const token = await wxopen(['token', 'authorizer', MP, '--json'], { cwd, env });
    expect(token.status, token.stderr).toBe(0);
    const d = await wxopen(['doctor', '--json'], { cwd, env });
    expect((JSON.parse(d.stdout) as { checks: { id: string; status: string }[] }).checks.find((c) => c.id === 'secret-keys')?.status).toBe('pass');
  });
});

describe('a stored secret under an unconfigured key, read at run time', () => {
  it('is a 503 WXO_ERR_SECRET_BOX naming WXOPEN_PREVIOUS_SECRET_KEYS, not a bare 500', () => {
    const sealed = new SecretBox([SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY]).seal('token', 'aad');
    let err: unknown;
    try {
      new SecretBox([NEW_KEY]).open(sealed, 'aad');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SecretBoxError);
    expect(err).toMatchObject({ code: 'WXO_ERR_SECRET_BOX', statusCode: 503, detail: `stored secret was sealed with key ${OLD_KID}, which is not configured: add that old WXOPEN_SECRET_KEY to WXOPEN_PREVIOUS_SECRET_KEYS` });
  });
});
