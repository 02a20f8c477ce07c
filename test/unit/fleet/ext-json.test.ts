import { describe, expect, it } from 'vitest';
import { EXT_JSON_MAX_BYTES, FleetValidationError, parseCsv, parseExtJsonFile, validateExtJson } from '../../../src/fleet/index.js';
import { csvField } from '../../../src/fleet/ext-json.js';

describe('validateExtJson', () => {
  it('accepts an object or a string holding one, and returns the exact string to send', () => {
    expect(validateExtJson('wxA', { extAppid: 'wxA', ext: { n: 1 } })).toEqual({ ok: true, json: '{"extAppid":"wxA","ext":{"n":1}}' });
    expect(validateExtJson('wxA', ' {"ext":{}} ')).toEqual({ ok: true, json: ' {"ext":{}} ' });
    expect(validateExtJson('wxA', {})).toEqual({ ok: true, json: '{}' });
  });

  it('refuses what WeChat answers 85013 for, and another merchant’s extAppid', () => {
    expect(validateExtJson('wxA', '{"a":')).toMatchObject({ ok: false, problem: expect.stringMatching(/^not JSON/) });
    expect(validateExtJson('wxA', '[1]')).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', 'null')).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', '"x"')).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', null)).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', { extAppid: 'wxB' })).toEqual({ ok: false, problem: 'extAppid is "wxB", not this merchant' });
  });

  it('refuses a config over the size limit, and accepts one exactly at it', () => {
    const pad = (n: number) => `{"p":"${'x'.repeat(n - 8)}"}`;
    expect(validateExtJson('wxA', pad(EXT_JSON_MAX_BYTES))).toMatchObject({ ok: true });
    expect(validateExtJson('wxA', pad(EXT_JSON_MAX_BYTES + 1))).toEqual({ ok: false, problem: `larger than ${EXT_JSON_MAX_BYTES} bytes` });
  });
});

describe('parseExtJsonFile', () => {
  it('reads a JSON file keyed by appid (objects or strings)', () => {
    expect(parseExtJsonFile('{"wxA":{"ext":{"n":1}},"wxB":"{\\"a\\":2}"}', 'json')).toEqual({ wxA: '{"ext":{"n":1}}', wxB: '{"a":2}' });
  });

  it('refuses a JSON file that is not an object keyed by appid', () => {
    expect(() => parseExtJsonFile('[{}]', 'json')).toThrow(FleetValidationError);
    expect(() => parseExtJsonFile('{', 'json')).toThrow(/file: not JSON/);
    expect(() => parseExtJsonFile('null', 'json')).toThrow(/must be an object keyed by appid/);
  });

  it('reads CSV with quoting, CRLF, a BOM, extra columns in any order and blank lines', () => {
    const csv = '\uFEFFname,ext_json,APPID\r\n"Shop, one","{""ext"":{""t"":""a,b""}}",wxA\r\n\r\nshop2,"{""multi"":\n""line""}", wxB \n';
    expect(parseExtJsonFile(csv, 'csv')).toEqual({ wxA: '{"ext":{"t":"a,b"}}', wxB: '{"multi":\n"line"}' });
  });

  it('names the lines of a bad CSV', () => {
    const err = (() => {
      try {
        parseExtJsonFile('appid,ext_json\nwxA,{}\n,{}\nwxA,{}\n', 'csv');
      } catch (e) {
        return e as FleetValidationError;
      }
      throw new Error('no error');
    })();
    expect(err.issues).toEqual([
      { field: 'line 3', problem: 'missing appid or ext_json' },
      { appid: 'wxA', field: 'line 4', problem: 'appid appears twice' },
    ]);
    expect(err.code).toBe('WXO_ERR_FLEET_VALIDATION');
    expect(err.statusCode).toBe(400);
    expect(() => parseExtJsonFile('appid,config\nwxA,{}', 'csv')).toThrow(/header with appid and ext_json/);
    expect(() => parseExtJsonFile('', 'csv')).toThrow(/header with appid and ext_json/);
    expect(() => parseExtJsonFile('appid,ext_json\nwxA', 'csv')).toThrow(/line 2: missing appid or ext_json/);
  });

  it('parses CSV rows with the line each starts on', () => {
    expect(parseCsv('a,b\n"x\ny",z\nlast')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x\ny', 'z'] },
      { line: 4, fields: ['last'] },
    ]);
    expect(parseCsv('a,"b""c"\r\n')).toEqual([{ line: 1, fields: ['a', 'b"c'] }]);
    expect(parseCsv('a,\n')).toEqual([{ line: 1, fields: ['a', ''] }]);
    expect(parseCsv('a,')).toEqual([{ line: 1, fields: ['a', ''] }]);
  });

  it('quotes a CSV field only when it must', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(12)).toBe('12');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('1<br>2\n3')).toBe('"1<br>2\n3"');
    expect(csvField('a\rb')).toBe('"a\rb"');
  });

  it('summarises many problems in one line', () => {
    const e = new FleetValidationError(Array.from({ length: 7 }, (_, i) => ({ appid: `wx${i}`, field: 'extJson', problem: 'bad' })));
    expect(e.message).toBe('[wxopen] invalid deploy (7 problems): wx0 extJson: bad; wx1 extJson: bad; wx2 extJson: bad; wx3 extJson: bad; wx4 extJson: bad; …');
    expect(new FleetValidationError([{ field: 'targets', problem: 'none' }]).message).toBe('[wxopen] invalid deploy (1 problem): targets: none');
  });

  it('CSV edges: a BOM only at the start, a lone CR ends a line, a quote inside an unquoted field is kept', () => {
    expect(parseCsv('a\uFEFF,b')).toEqual([{ line: 1, fields: ['a\uFEFF', 'b'] }]);
    expect(parseCsv('a\rb\r\nc')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: ['b'] },
      { line: 3, fields: ['c'] },
    ]);
    expect(parseCsv('ab"c,d')).toEqual([{ line: 1, fields: ['ab"c', 'd'] }]);
    expect(parseCsv('"a"b,c')).toEqual([{ line: 1, fields: ['ab', 'c'] }]);
    expect(parseCsv('')).toEqual([]);
    // The header's names are trimmed and case-blind; a row's appid is trimmed, its ext_json kept as is.
    expect(parseExtJsonFile(' AppId , Ext_JSON \n wxA , {"a":1} \n', 'csv')).toEqual({ wxA: ' {"a":1} ' });
  });

  it('a JSON file keeps string values as they are and serializes objects', () => {
    expect(parseExtJsonFile('{"wxA":"{\\"a\\":1}","wxB":{"b":[1,2]},"wxC":[]}', 'json')).toEqual({ wxA: '{"a":1}', wxB: '{"b":[1,2]}', wxC: '[]' });
    expect(() => parseExtJsonFile('[]', 'json')).toThrow(/must be an object keyed by appid/);
    expect(() => parseExtJsonFile('{', 'json')).toThrow(/file: not JSON \(/);
  });

  it('checks an ext_json value: null and arrays are not objects, extAppid must be the merchant, strings are sent as given', () => {
    expect(validateExtJson('wxA', null)).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', '[1]')).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', '"s"')).toEqual({ ok: false, problem: 'must be a JSON object' });
    expect(validateExtJson('wxA', { extAppid: 'wxB' })).toEqual({ ok: false, problem: 'extAppid is "wxB", not this merchant' });
    expect(validateExtJson('wxA', '{ "extAppid": "wxA" }')).toEqual({ ok: true, json: '{ "extAppid": "wxA" }' });
    expect(validateExtJson('wxA', '{x')).toMatchObject({ ok: false, problem: expect.stringMatching(/^not JSON \(.+\)$/) });
  });
});
