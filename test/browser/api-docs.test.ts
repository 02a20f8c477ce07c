/**
 * The API reference (/docs, Swagger UI) in a real browser: it renders with no Content-Security-Policy violation
 * in the console, while the dashboard's pages keep their own strict policy.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { noteSkipped } from '../helpers/services.js';

if (existsSync(CHROMIUM)) {
  describe('the API reference in a real browser (Chromium)', () => {
    let w: AdminWorld;
    let browser: Browser;
    beforeAll(async () => {
      w = await startAdminWorld();
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await w?.close();
    });

    it('renders Swagger UI without a CSP violation in the console', async () => {
      const ctx = await browser.newContext({ locale: 'zh-CN' });
      await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (r) => r.abort());
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) problems.push(msg.text());
      });
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto(`${w.adminUrl}/login?next=/docs`);
      await page.fill('input[name="token"]', ADMIN_TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForURL(/\/docs/);
      await page.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
      // Expanding an operation renders more of Swagger UI's styled elements.
      await page.locator('.opblock-summary').first().click();
      await page.waitForSelector('.opblock-body', { timeout: 10_000 });
      await page.waitForTimeout(500);
      expect(problems).toEqual([]);
      // Only inline styles were allowed, only here: scripts keep the plugin's strict policy.
      const csp = (await w.api('/docs/')).headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/style-src [^;]*'unsafe-inline'/);
      expect(csp).toMatch(/script-src 'self'[^;]*;/);
      expect(csp).not.toMatch(/script-src [^;]*unsafe/);
      expect(csp).toContain("script-src-attr 'none'");
      await ctx.close();
    }, 60_000);
  });
} else {
  noteSkipped('the API reference in a real browser', 'WXOPEN_TEST_CHROMIUM (or /usr/bin/chromium)');
}
