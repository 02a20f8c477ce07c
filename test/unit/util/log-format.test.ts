import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, formatLogLine, prettyDestination } from '../../../src/util/log-format.js';
import { createLogger } from '../../../src/util/logger.js';

describe('chooseLogFormat', () => {
  it('is readable on a terminal and JSON when piped', () => {
    expect(chooseLogFormat(true, {})).toBe('pretty');
    expect(chooseLogFormat(false, {})).toBe('json');
  });

  it('is JSON in production even on a terminal', () => {
    expect(chooseLogFormat(true, { NODE_ENV: 'production' })).toBe('json');
    expect(chooseLogFormat(true, { NODE_ENV: 'development' })).toBe('pretty');
  });

  it('WXOPEN_LOG_FORMAT overrides both ways; auto or an empty value decides as usual', () => {
    expect(chooseLogFormat(false, { WXOPEN_LOG_FORMAT: 'pretty' })).toBe('pretty');
    expect(chooseLogFormat(false, { WXOPEN_LOG_FORMAT: 'pretty', NODE_ENV: 'production' })).toBe('pretty');
    expect(chooseLogFormat(true, { WXOPEN_LOG_FORMAT: 'JSON' })).toBe('json');
    expect(chooseLogFormat(true, { WXOPEN_LOG_FORMAT: 'auto' })).toBe('pretty');
    expect(chooseLogFormat(false, { WXOPEN_LOG_FORMAT: '' })).toBe('json');
  });
});

describe('formatLogLine', () => {
  const time = Date.UTC(2026, 11, 1, 6, 7, 8, 9);

  it('prints time, level, name, message and the other fields as key=value', () => {
    const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', name: 'wxopen', msg: 'push refused', reason: 'bad_signature', status: 401, ip: '127.0.0.1', note: 'two words' });
    expect(formatLogLine(line, { color: false })).toBe('06:07:08.009 WARN  wxopen: push refused reason=bad_signature status=401 ip=127.0.0.1 note="two words"\n');
  });

  it('nests objects as JSON and prints an error with its stack indented below', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)\n    at g (b.js:2:2)' };
    const out = formatLogLine(JSON.stringify({ level: 50, time, msg: 'failed', err, data: { a: 1 } }), { color: false });
    expect(out).toBe('06:07:08.009 ERROR failed err="Error: boom" data={"a":1}\n    at f (a.js:1:1)\n    at g (b.js:2:2)\n');
  });

  it('colours only when asked, and passes a line that is not pino JSON through', () => {
    expect(formatLogLine(JSON.stringify({ level: 30, time, msg: 'hi' }), { color: true })).toContain('\x1b[32mINFO');
    expect(formatLogLine(JSON.stringify({ level: 30, time, msg: 'hi' }), { color: false })).not.toContain('\x1b');
    expect(formatLogLine('not json', { color: false })).toBe('not json\n');
    expect(formatLogLine('[1,2]', { color: false })).toBe('[1,2]\n');
  });

  it('keeps redaction: a logger writing through the pretty destination never prints a secret', () => {
    const chunks: string[] = [];
    const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
    const log = createLogger({ destination: prettyDestination(out, { color: false }) as never });
    log.info({ access_token: 'AT-secret', body: { component_appsecret: 'S-secret' }, appid: 'wx1' }, 'token obtained');
    const text = chunks.join('');
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  wxopen: token obtained access_token=\[redacted\] body=\{"component_appsecret":"\[redacted\]"\} appid=wx1\n$/);
    for (const secret of ['AT-secret', 'S-secret']) expect(text).not.toContain(secret);
  });
});
