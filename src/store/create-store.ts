import { resolve } from 'node:path';
import { createPostgresStore } from './kysely/postgres.js';
import { createSqliteStore } from './kysely/sqlite.js';
import type { Store } from './types.js';

/**
 * Opens the store a `WXOPEN_DATABASE_URL` names and migrates it: `sqlite:<path>` (or `sqlite::memory:`)
 * or `postgres://…` / `postgresql://…`. `migrate: false` opens it as it is (the doctor reports pending migrations).
 */
export async function createStore(url: string, options: { schema?: string; migrate?: boolean } = {}): Promise<Store> {
  let store: Store;
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length);
    const [path = '', query = ''] = rest.split('?');
    const sync = new URLSearchParams(query).get('synchronous');
    store = createSqliteStore({
      path: path === ':memory:' ? path : resolve(path),
      synchronous: sync === 'normal' ? 'normal' : 'full',
    });
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    store = await createPostgresStore({ connectionString: url, schema: options.schema });
  } else {
    throw new TypeError(`[wxopen] unsupported database URL scheme: ${url.split(':')[0]}`);
  }
  if (options.migrate === false) return store;
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
