import { describe, expect, it } from 'vitest';
import { FleetNotFoundError, FleetValidationError } from '../../../src/fleet/errors.js';
import { parseCsv, parseExtJsonFile } from '../../../src/fleet/ext-json.js';
import type { FleetJob } from '../../../src/fleet/model.js';
import { planDeploy, type CreateJobInput } from '../../../src/fleet/planner.js';
import { progressOf } from '../../../src/fleet/report.js';
import type { AuthorizerRecord } from '../../../src/store/types.js';
import { fleetJob, fleetTarget as target } from './fixtures.js';

/** A job of four merchants: the progress cases below settle some or all of them. */
const job = (over: Partial<FleetJob> = {}): FleetJob => fleetJob({ total: 4, ...over });

const authorizer = (appid: string): AuthorizerRecord => ({
  componentAppid: 'wxc',
  authorizerAppid: appid,
  status: 'authorized',
  statusReason: null,
  funcInfo: [18],
  refreshTokenEnc: null,
  accessTokenEnc: null,
  accessExpiresAt: null,
  version: 1,
  authorizedAt: 0,
  updatedAt: 0,
  info: null,
  eventTime: null,
});

describe('fleet: pure parts (mutation)', () => {
  it('progress: no ETA for a running job with nothing left (until the next scan marks it done)', () => {
    const p = progressOf(job(), { released: 4 }, [], 1_004_000);
    expect(p).toMatchObject({ settled: 4, ratePerSecond: 1, etaMs: null });
    // One left: an ETA at the same rate.
    expect(progressOf(job(), { released: 3, pending: 1 }, [], 1_003_000).etaMs).toBe(1_000);
  });

  it('progress: failures are the failed and rejected merchants only, whatever list it is given', () => {
    const given = [
      target('wxA', { state: 'released' }),
      target('wxB', { state: 'failed', error: { errcode: 85013, errmsg: 'bad', step: 'commit' } }),
      target('wxC', { state: 'pending', error: { errcode: -1, errmsg: 'busy', step: 'commit' } }),
      target('wxD', { state: 'rejected', reason: 'icon' }),
    ];
    expect(progressOf(job(), {}, given, 1_001_000).failures.map((f) => f.appid)).toEqual(['wxB', 'wxD']);
  });

  it('progress: a rejection without a reason and a failure without an error read as empty reasons', () => {
    const p = progressOf(job(), {}, [target('wxR', { state: 'rejected', reason: null }), target('wxF', { state: 'failed', error: null })], 1_001_000);
    expect(p.failures).toEqual([
      { appid: 'wxR', state: 'rejected', errcode: null, reason: '' },
      { appid: 'wxF', state: 'failed', errcode: null, reason: '' },
    ]);
  });

  it('a validation error shows five problems in full and says so only past five', () => {
    const issues = (n: number) => Array.from({ length: n }, (_, i) => ({ field: `f${i}`, problem: 'bad' }));
    expect(new FleetValidationError(issues(5)).message).toBe('[wxopen] invalid deploy (5 problems): f0: bad; f1: bad; f2: bad; f3: bad; f4: bad');
    expect(new FleetValidationError(issues(6)).message).toBe('[wxopen] invalid deploy (6 problems): f0: bad; f1: bad; f2: bad; f3: bad; f4: bad; …');
  });

  it('a missing job is named in the error message', () => {
    expect(new FleetNotFoundError('fj_gone').message).toBe('[wxopen] no deploy job fj_gone');
  });

  it('refuses a userVersion that is not a string (a JavaScript caller, or JSON from the admin API)', () => {
    for (const userVersion of [123, null, ['1.0.0']]) {
      const input = { templateId: 1, userVersion, targets: { appids: ['wxa1'] } } as unknown as CreateJobInput;
      expect(planDeploy(input, [authorizer('wxa1')], new Map(), new Set([1])).issues).toEqual([{ field: 'userVersion', problem: 'must be 1..64 characters' }]);
    }
  });

  it('refuses a gray percentage of 0 or below', () => {
    for (const grayPercentage of [0, -5]) {
      const input: CreateJobInput = { templateId: 1, userVersion: '1.0.0', targets: { appids: ['wxa1'] }, options: { grayPercentage } };
      expect(planDeploy(input, [authorizer('wxa1')], new Map(), new Set([1])).issues).toEqual([{ field: 'options.grayPercentage', problem: 'must be an integer 1..100' }]);
    }
  });

  it('CSV: a header missing the appid column is refused as a header (field `file`), not as lines; the columns in any order', () => {
    const err = (() => {
      try {
        parseExtJsonFile('name,ext_json\nshop,{}\n', 'csv');
      } catch (e) {
        return e as FleetValidationError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(FleetValidationError);
    expect(err.issues).toEqual([{ field: 'file', problem: 'CSV needs a header with appid and ext_json columns' }]);
    // Either column may come first.
    expect(parseExtJsonFile('ext_json,appid\n{},wxA\n', 'csv')).toEqual({ wxA: '{}' });
    expect(() => parseExtJsonFile('appid,ext_json\n', 'csv')).not.toThrow();
    expect(parseExtJsonFile('appid,ext_json\n', 'csv')).toEqual({});
  });

  it('CSV: the BOM is dropped once, at the start; a lone CR ends a row, and only CR LF is one line end', () => {
    expect(parseCsv('\uFEFFa,b')).toEqual([{ line: 1, fields: ['a', 'b'] }]);
    expect(parseCsv('\uFEFF\uFEFFa')).toEqual([{ line: 1, fields: ['\uFEFFa'] }]);
    expect(parseCsv('a\rb')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: ['b'] },
    ]);
    // A blank line is a row of its own (LF after LF is not a CRLF pair), so the lines after it keep their numbers.
    expect(parseCsv('a\n\nb')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: [''] },
      { line: 3, fields: ['b'] },
    ]);
    expect(parseCsv('a\r\rb')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: [''] },
      { line: 3, fields: ['b'] },
    ]);
  });
});
