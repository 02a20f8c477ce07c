import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the summary line CI reads', () => {
  it('counts tests whose suite failed to set up, and a file that fails to load, as failed', () => {
    // A nested vitest run over fixtures outside the main include: a failing beforeAll (2 tests), a file
    // that throws on import, and one pass, one skip, one failure.
    const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
      timeout: 60_000,
    });
    const line = run.stdout.split('\n').find((l) => l.startsWith('tests: '));
    expect(line, run.stdout + run.stderr).toBe('tests: 1 passed, 4 failed, 1 skipped');
    expect(run.status).not.toBe(0);
  }, 60_000);
});
