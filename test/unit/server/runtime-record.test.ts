/**
 * The record a server keeps beside its database (`<db>.server.json`): the first live instance's, taken over only
 * from a dead one, and removed only by its own process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimServerRuntime, removeServerRuntime, type ServerRuntime } from '../../../src/server/instance.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wxopen-record-'));
  path = join(dir, 'data', 'postgres-abc.server.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mine: ServerRuntime = { pid: process.pid, url: 'http://localhost:4310', startedAt: '2026-01-01T00:00:00.000Z' };
/** The parent (the test runner) is alive for the whole test and is not this process. */
const other: ServerRuntime = { pid: process.ppid, url: 'http://localhost:4300', sandboxUrl: 'http://127.0.0.1:4301', startedAt: '2026-01-01T00:00:00.000Z' };
const read = () => JSON.parse(readFileSync(path, 'utf8')) as ServerRuntime;
/** A pid that was a process and is no more. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('claimServerRuntime', () => {
  it('writes the record when there is none (creating data/)', () => {
    expect(claimServerRuntime(path, mine)).toBeUndefined();
    expect(read()).toEqual(mine);
  });

  it('leaves a live other instance\'s record as it is and returns it', () => {
    claimServerRuntime(path, other);
    expect(claimServerRuntime(path, mine)).toEqual(other);
    expect(read()).toEqual(other);
    expect(readdirSync(join(dir, 'data'))).toEqual(['postgres-abc.server.json']);
  });

  it('gives a live record without a simulator up to one that runs it, and only to one', () => {
    const bare: ServerRuntime = { pid: process.ppid, url: 'http://localhost:4300', startedAt: '2026-01-01T00:00:00.000Z' };
    claimServerRuntime(path, bare);
    expect(claimServerRuntime(path, mine)).toEqual(bare);
    expect(read()).toEqual(bare);
    const simulating = { ...mine, sandboxUrl: 'http://127.0.0.1:4311' };
    expect(claimServerRuntime(path, simulating)).toBeUndefined();
    expect(read()).toEqual(simulating);
  });

  it('replaces a dead server\'s record, an unreadable one and its own', () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(path, JSON.stringify({ ...other, pid: deadPid() }));
    expect(claimServerRuntime(path, mine)).toBeUndefined();
    expect(read()).toEqual(mine);
    writeFileSync(path, '{');
    expect(claimServerRuntime(path, mine)).toBeUndefined();
    expect(read()).toEqual(mine);
    expect(claimServerRuntime(path, { ...mine, url: 'http://localhost:4320' })).toBeUndefined();
    expect(read().url).toBe('http://localhost:4320');
    expect(readdirSync(join(dir, 'data'))).toEqual(['postgres-abc.server.json']);
  });
});

describe('removeServerRuntime', () => {
  it('keeps a live other instance\'s record and removes its own', () => {
    claimServerRuntime(path, other);
    removeServerRuntime(path);
    expect(read()).toEqual(other);
    rmSync(path);
    claimServerRuntime(path, mine);
    removeServerRuntime(path);
    expect(readdirSync(join(dir, 'data'))).toEqual([]);
  });
});
