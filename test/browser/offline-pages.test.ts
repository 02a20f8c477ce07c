/**
 * Sandbox mode in a real browser (Chromium) stays on this machine: the merchant's callback page and the dashboard's
 * authorizer page draw the account's avatar from the sandbox, nothing is requested beyond loopback, and no page
 * leaves an error in the console. (Chromium's own /favicon.ico fetches are invisible here: test/integration/favicon.test.ts.)
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { noteSkipped } from '../helpers/services.js';

const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/;

if (existsSync(CHROMIUM)) {
  describe('sandbox pages in a real browser (Chromium) load nothing from outside', () => {
    let w: AdminWorld;
    let browser: Browser;
    beforeAll(async () => {
      w = await startAdminWorld();
      await w.settle();
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await w?.close();
    });

    /** A browser profile that records what left loopback (and refuses it) and every console error. */
    async function watched(viewport: { width: number; height: number }): Promise<{ ctx: BrowserContext; page: Page; outside: string[]; errors: string[] }> {
      const ctx = await browser.newContext({ locale: 'zh-CN', viewport });
      const outside: string[] = [];
      const errors: string[] = [];
      await ctx.route(
        (url) => !LOOPBACK.test(url.href) && url.protocol !== 'data:',
        (r) => {
          outside.push(r.request().url());
          return r.abort();
        },
      );
      const page = await ctx.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`${page.url()}: ${msg.text()}`);
      });
      page.on('pageerror', (err) => errors.push(err.message));
      // A failed image is not always a console message: the response says it.
      ctx.on('response', (res) => {
        if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
      });
      return { ctx, page, outside, errors };
    }

    /** The avatar's image, once the browser has settled it: its address and drawn width (0 when it failed). */
    async function avatar(page: Page): Promise<{ src: string; width: number }> {
      // Strings, run in the page: this project's types have no DOM.
      await page.waitForFunction("document.querySelector('img.avatar')?.complete === true");
      return page.evaluate("({ src: document.querySelector('img.avatar').currentSrc, width: document.querySelector('img.avatar').naturalWidth })");
    }

    it('the callback page and the dashboard show the sandbox’s avatar; no request leaves loopback, no console error', async () => {
      const merchant = await watched({ width: 375, height: 760 });
      const m = merchant.page;
      await m.goto(`${w.url}/authorize`);
      await m.locator('[data-auth-type="1"] a[data-kind="pc"]').click();
      await m.waitForURL(/componentloginpage/);
      const appid = (await m.locator('input[name="authorizer_appid"]').nth(0).getAttribute('value'))!;
      await m.locator('button').first().click();
      await m.waitForURL(/\/authorize\/callback/);
      expect(await m.locator('h1').textContent()).toBe('授权成功');
      const userName = w.sandbox.accounts.find((a) => a.appid === appid)!.userName;
      const shown = await avatar(m);
      expect(shown.src).toBe(`${w.sandbox.url}/mmopen/${userName}/0`);
      expect(shown.width).toBeGreaterThan(0);
      await w.settle();

      const operator = await watched({ width: 1100, height: 800 });
      const page = operator.page;
      // The sign-in page itself: `/` answers it with 401, which Chromium reports in the console.
      await page.goto(`${w.adminUrl}/login`);
      await page.fill('input[name="token"]', ADMIN_TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForSelector('#card-ticket');
      await page.goto(`${w.adminUrl}/authorizers/${appid}`);
      const onDashboard = await avatar(page);
      expect(onDashboard.src).toBe(shown.src);
      expect(onDashboard.width).toBeGreaterThan(0);

      expect([...merchant.outside, ...operator.outside]).toEqual([]);
      expect([...merchant.errors, ...operator.errors]).toEqual([]);
      await merchant.ctx.close();
      await operator.ctx.close();
    }, 120_000);
  });
} else {
  noteSkipped('sandbox pages in a real browser', `Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
