import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore } from '../../src/store/create-store.js';
import { storeContract } from './store-contract.js';

storeContract('SQLite file', () => createStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-store-')), 'db', 'wx.db')}`));
storeContract('SQLite in memory', () => createStore('sqlite::memory:'));
