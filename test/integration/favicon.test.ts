/**
 * Every browser asks each origin for /favicon.ico; a 404 there is a console error on every page. The public listener,
 * the operator listener and the sandbox's authorization pages all answer it, without a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';

const BROWSER = { accept: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8' };

let w: AdminWorld;
beforeAll(async () => {
  w = await startAdminWorld();
});
afterAll(async () => {
  await w?.close();
});

/** The one 16×16 image of an ICO file, decoded far enough to know a browser can draw it. */
function icoImage(bytes: Buffer): { width: number; height: number; bits: number; pixels: number } {
  expect(bytes.readUInt16LE(0)).toBe(0);
  expect(bytes.readUInt16LE(2)).toBe(1);
  expect(bytes.readUInt16LE(4)).toBe(1);
  const length = bytes.readUInt32LE(14);
  const offset = bytes.readUInt32LE(18);
  expect(offset + length).toBe(bytes.length);
  expect(bytes.readUInt32LE(offset)).toBe(40);
  const pixels = bytes.subarray(offset + 40, offset + 40 + 16 * 16 * 4);
  let opaque = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] === 0xff) opaque++;
  return { width: bytes.readUInt8(6), height: bytes.readUInt8(7), bits: bytes.readUInt16LE(12), pixels: opaque };
}

describe('/favicon.ico', () => {
  it('is a small cacheable icon on the public listener, the operator listener (no sign-in) and the sandbox', async () => {
    for (const base of [w.url, w.adminUrl, w.sandbox.url]) {
      const res = await fetch(`${base}/favicon.ico`, { headers: BROWSER });
      expect([base, res.status, res.headers.get('content-type')]).toEqual([base, 200, 'image/x-icon']);
      expect(res.headers.get('cache-control')).toMatch(/public, max-age=\d{6,}/);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBeLessThan(2048);
      const image = icoImage(bytes);
      expect(image).toMatchObject({ width: 16, height: 16, bits: 32 });
      expect(image.pixels).toBeGreaterThan(200);
      const head = await fetch(`${base}/favicon.ico`, { method: 'HEAD' });
      expect([head.status, head.headers.get('content-length')]).toEqual([200, String(bytes.length)]);
    }
    // The pages name it, so a browser asks for it even where it would not by itself (headless Chromium).
    const pages = [`${w.url}/authorize`, `${w.url}/no-such-page`, `${w.adminUrl}/login`];
    const go = await fetch(`${w.url}/authorize/go?auth_type=1`, { redirect: 'manual' });
    pages.push(go.headers.get('location')!);
    for (const url of pages) {
      const html = await (await fetch(url, { headers: { accept: 'text/html', referer: `${w.url}/authorize` } })).text();
      expect([url, html]).toEqual([url, expect.stringMatching(/<head>.*<link rel="icon" href="\/favicon\.ico">.*<\/head>/s)]);
    }
    // Not an upstream call the sandbox counts.
    expect(JSON.stringify(w.sandbox.counters.all())).not.toContain('favicon');
  });
});
