import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { CHROMIUM, DOCS, launchChromium } from '../helpers/browser.js';
import { noteSkipped } from '../helpers/services.js';

/** Widest content in CSS px: more than the viewport means the page scrolls sideways. */

if (existsSync(CHROMIUM)) {
  describe('a merchant authorizes in a real browser (Chromium), the operator watches the dashboard', () => {
    let w: AdminWorld;
    let browser: Browser;
    beforeAll(async () => {
      w = await startAdminWorld({ env: { WXOPEN_REQUIRED_PERMISSION_SETS: '17,18,88', WXOPEN_PLATFORM_NAME: '青木云店' } });
      await w.settle();
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await w?.close();
    });

    it('logs in, authorizes through our page and the sandbox page, sees the name and permission names', async () => {
      // The operator signs in to the dashboard.
      const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1100, height: 800 } });
      // Everything stays on loopback (the avatars are the sandbox's own): anything else is refused.
      const loopbackOnly = /^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/;
      await ctx.route(loopbackOnly, (r) => r.abort());
      const page = await ctx.newPage();
      await page.goto(`${w.adminUrl}/`);
      expect(await page.locator('h1').first().textContent()).toBe('登录运营后台');
      await page.fill('input[name="token"]', ADMIN_TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForSelector('#card-ticket');

      // A merchant (another browser profile, on a phone-sized screen) follows our page to WeChat's.
      const merchant = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 760 }, isMobile: true });
      await merchant.route(loopbackOnly, (r) => r.abort());
      const m = await merchant.newPage();
      await m.goto(`${w.url}/authorize`);
      expect(await m.locator('h1').textContent()).toBe('授权第三方平台');
      await expect(m.locator('body').textContent()).resolves.toContain('仅小程序');
      expect(await m.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await m.screenshot({ path: join(DOCS, 'authorize.png'), fullPage: true });
      await m.locator('[data-auth-type="2"] a[data-kind="pc"]').click();
      await m.waitForURL(/componentloginpage/);
      const radios = m.locator('input[name="authorizer_appid"]');
      await radios.nth(0).check();
      const appid = (await radios.nth(0).getAttribute('value'))!;
      // The merchant leaves one set the platform needs unticked: the callback must say it is missing.
      await m.locator('input[name="func"][value="88"]').uncheck();
      await m.locator('button[type="submit"], button').first().click();
      await m.waitForURL(/\/authorize\/callback/);
      expect(await m.locator('h1').textContent()).toBe('授权成功');
      const account = w.sandbox.accounts.find((a) => a.appid === appid)!;
      await expect(m.locator('#account-name').textContent()).resolves.toContain(account.nickName);
      const granted = await m.locator('#granted').textContent();
      expect(granted).toMatch(/获取小程序码|小程序开发与数据分析|小程序基本信息管理/);
      await expect(m.locator('#missing').textContent()).resolves.toContain('小程序链接管理');
      expect(await m.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await m.screenshot({ path: join(DOCS, 'callback.png'), fullPage: true });
      await w.settle();

      // The dashboard lists the merchant with its name and permission names.
      await page.goto(`${w.adminUrl}/`);
      const row = page.locator(`tr[data-appid="${appid}"]`);
      await expect(row.textContent()).resolves.toContain(account.nickName);
      await expect(row.textContent()).resolves.toContain('已授权');
      await expect(row.textContent()).resolves.toMatch(/小程序开发与数据分析|获取小程序码/);
      await page.screenshot({ path: join(DOCS, 'dashboard.png'), fullPage: true });

      // Usable on a phone: no horizontal overflow at 375 px.
      const phone = await ctx.newPage();
      await phone.setViewportSize({ width: 375, height: 800 });
      await phone.goto(`${w.adminUrl}/`);
      expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await phone.goto(`${w.adminUrl}/authorizers/${appid}`);
      await expect(phone.locator('#account-name').textContent()).resolves.toContain(account.nickName);
      expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await phone.goto(`${w.adminUrl}/sandbox`);
      expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await merchant.close();
      await ctx.close();
    }, 120_000);
  });
} else {
  noteSkipped('browser authorization test', `Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
