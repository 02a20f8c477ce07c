import { createStore } from '../../src/store/create-store.js';
import { dropSchema, noteSkipped, PG_URL, uniqueSchema } from '../helpers/services.js';
import { storeContract } from './store-contract.js';

if (PG_URL) {
  const url = PG_URL;
  const schema = uniqueSchema();
  storeContract('PostgreSQL', () => createStore(url, { schema }), () => dropSchema(url, schema));
} else {
  noteSkipped('Store contract: PostgreSQL', 'WXOPEN_TEST_PG_URL');
}
