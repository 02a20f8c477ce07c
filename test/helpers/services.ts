import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import pg from 'pg';

export const PG_URL = process.env.WXOPEN_TEST_PG_URL;
export const REDIS_URL = process.env.WXOPEN_TEST_REDIS_URL;

/** Registers a visible skipped test that says why a service-backed suite did not run. */
export function noteSkipped(suite: string, variable: string): void {
  describe.skip(`${suite} (skipped: set ${variable} to run against a real server)`, () => {
    it('needs a real server', () => {});
  });
  process.stderr.write(`note: ${suite} skipped: ${variable} is not set\n`);
}

/** A fresh PostgreSQL schema name for one test file. */
export function uniqueSchema(prefix = 'wxo_t'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}
