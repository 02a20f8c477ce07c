import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { MP } from './helpers.js';

describe('sandbox admin refuses cross-site requests', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ ticketIntervalMs: 0 });
  });
  afterAll(async () => sandbox.close());

  const post = (path: string, init: { body?: string | FormData; headers?: Record<string, string> }) =>
    fetch(`${sandbox.url}/sandbox/admin${path}`, { method: 'POST', ...init });

  it.each([
    ['a form post from another site', { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, `appid=${MP}`],
    ['a text/plain post from another site', { 'content-type': 'text/plain', origin: 'https://evil.example' }, JSON.stringify({ appid: MP })],
    ['a form post without Origin (old browser)', { 'content-type': 'application/x-www-form-urlencoded' }, `appid=${MP}`],
    ['text/plain without Origin', { 'content-type': 'text/plain' }, JSON.stringify({ appid: MP })],
    ['JSON with a foreign Origin', { 'content-type': 'application/json', origin: 'https://evil.example' }, JSON.stringify({ appid: MP })],
    ['JSON with a foreign Referer', { 'content-type': 'application/json', referer: 'https://evil.example/page' }, JSON.stringify({ appid: MP })],
    ['JSON with Origin null (sandboxed iframe)', { 'content-type': 'application/json', origin: 'null' }, JSON.stringify({ appid: MP })],
  ])('refuses %s with 403 and changes nothing', async (_name, headers, body) => {
    const res = await post('/authorize', { headers, body });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/cross-site|application\/json/);
    expect(sandbox.state.authorizations.has(MP)).toBe(false);
  });

  it('answers a body over its limit with 413 and one that is not JSON with 400, never 500', async () => {
    const big = await post('/authorize', { headers: { 'content-type': 'application/json' }, body: 'x'.repeat(3 * 1024 * 1024) });
    expect(big.status).toBe(413);
    const bad = await post('/authorize', { headers: { 'content-type': 'application/json' }, body: '{"appid":' });
    expect(bad.status).toBe(400);
    expect(sandbox.state.authorizations.has(MP)).toBe(false);
  });

  it('refuses multipart form posts', async () => {
    const form = new FormData();
    form.set('appid', MP);
    const res = await post('/authorize', { body: form, headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    const local = await post('/clock/advance', { body: form });
    expect(local.status).toBe(403);
    expect(sandbox.clock.offset()).toBe(0);
  });

  it('refuses DELETE from another origin', async () => {
    const res = await fetch(`${sandbox.url}/sandbox/admin/faults`, { method: 'DELETE', headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
  });

  it('accepts JSON from scripts (no Origin) and from its own pages, and bodiless curl posts', async () => {
    expect((await post('/clock/advance', { headers: { 'content-type': 'application/json' }, body: '{"seconds":1}' })).status).toBe(200);
    expect((await post('/clock/advance', { headers: { 'content-type': 'application/json; charset=utf-8', origin: sandbox.url }, body: '{"seconds":1}' })).status).toBe(200);
    expect((await post('/clock/advance', { headers: { 'content-type': 'application/json', referer: `${sandbox.url}/sandbox/admin` }, body: '{"seconds":1}' })).status).toBe(200);
    expect(sandbox.clock.offset()).toBe(3000);
    expect((await post('/counters/reset', {})).status).toBe(200);
    const auth = await post('/authorize', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appid: MP }) });
    expect(auth.status).toBe(200);
    expect(sandbox.state.authorizations.has(MP)).toBe(true);
    // Reads stay open to a browser.
    expect((await fetch(`${sandbox.url}/sandbox/admin/state`, { headers: { origin: 'https://evil.example' } })).status).toBe(200);
  });
});
