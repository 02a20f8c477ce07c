import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/util/logger.js';

describe('createLogger', () => {
  it('redacts credentials at the top level and inside the usual containers', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    log.info({ access_token: 'AT1', body: { component_appsecret: 'S1', authorizer_refresh_token: 'R1' }, query: { component_access_token: 'CAT1' }, appid: 'wx1' }, 'x');
    const out = lines.join('');
    for (const secret of ['AT1', 'S1', 'R1', 'CAT1']) expect(out).not.toContain(secret);
    expect(out).toContain('wx1');
    expect(out).toContain('[redacted]');
  });
});
