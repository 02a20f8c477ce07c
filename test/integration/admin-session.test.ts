/**
 * The dashboard's sign-in over real HTTP: where it sends the operator afterwards (only to a path of this
 * site), and what a browser gets when its session runs out while a form is open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminWorld, ADMIN_TOKEN, type AdminWorld } from '../helpers/admin-world.js';

const OA = 'wx3a7f2c9e1b4d6f80';
/** What a browser sends with a form it submits. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let w: AdminWorld;
beforeAll(async () => {
  w = await startAdminWorld();
  await w.settle();
  await w.sandbox.authorize(OA, [1, 2, 15]);
  await w.settle();
});
afterAll(async () => {
  await w?.close();
});

const signIn = (next: string) => fetch(`${w.adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next }), redirect: 'manual' });

describe('dashboard sign-in', () => {
  it('returns to the page it was given, and never to another site', async () => {
    expect((await signIn(`/authorizers/${OA}?lang=en`)).headers.get('location')).toBe(`/authorizers/${OA}?lang=en`);
    // Browsers drop tabs and newlines from a URL and read a backslash as a slash: each of these is //evil.example.
    for (const next of ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', 'https://evil.example/', ' /x']) {
      const res = await signIn(next);
      expect([next, res.status, res.headers.get('location')]).toEqual([next, 303, '/']);
    }
  });
});
