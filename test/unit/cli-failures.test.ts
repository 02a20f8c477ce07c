import { describe, expect, it } from 'vitest';
import { describeCause } from '../../src/cli/failures.js';

describe('describeCause', () => {
  it('a native addon built for another Node.js names the package, both ABI versions and the rebuild, not just the file', () => {
    // Node's own text, as `node dist/cli/bin.js serve` on Node 24 printed it with an addon built on Node 20.
    const err = Object.assign(
      new Error(
        "The module '/srv/wxopen/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
          'was compiled against a different Node.js version using\n' +
          'NODE_MODULE_VERSION 115. This version of Node.js requires\n' +
          'NODE_MODULE_VERSION 137. Please try re-compiling or re-installing\n' +
          'the module (for instance, using `npm rebuild` or `npm install`).',
      ),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    expect(describeCause(err)).toBe(
      `ERR_DLOPEN_FAILED better-sqlite3 was built for another Node.js (NODE_MODULE_VERSION 115; this Node.js ${process.version} needs 137): run \`npm rebuild better-sqlite3\` with this Node.js`,
    );
    // Wrapped (a store that failed to open) reads the same.
    expect(describeCause(new Error('could not open the database', { cause: err }))).toBe(describeCause(err));
  });

  it('any other load failure keeps its first line', () => {
    const err = Object.assign(new Error('/srv/x.node: invalid ELF header\nmore'), { code: 'ERR_DLOPEN_FAILED' });
    expect(describeCause(err)).toBe('ERR_DLOPEN_FAILED /srv/x.node: invalid ELF header');
  });
});
