import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSkipped } from '../helpers/services.js';
import { startWorld, type World } from '../helpers/world.js';

const CHROMIUM = process.env.WXOPEN_TEST_CHROMIUM ?? '/usr/bin/chromium';

if (existsSync(CHROMIUM)) {
  describe('a merchant authorizes in a real browser (Chromium)', () => {
    let w: World;
    let browser: Browser;
    beforeAll(async () => {
      w = await startWorld();
      await w.settle();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await w?.close();
    });

    it('clicks through our page and the sandbox authorization page to the callback', async () => {
      const page = await browser.newPage();
      await page.goto(`${w.url}/authorize`);
      await page.getByText('PC: mini programs only').click();
      await page.waitForURL(/componentloginpage/);
      const radios = page.locator('input[name="authorizer_appid"]');
      expect(await radios.count()).toBeGreaterThan(1);
      await radios.nth(1).check();
      const appid = await radios.nth(1).getAttribute('value');
      await page.locator('button[type="submit"], button').first().click();
      await page.waitForURL(/\/authorize\/callback/);
      await expect(page.locator('h1').textContent()).resolves.toBe('Authorized');
      expect(await page.content()).toContain(appid!);
      await page.screenshot({ path: join(tmpdir(), 'wxopen-authorized.png') });
      await w.settle();
      expect((await w.store.getAuthorizer(w.config.componentAppid, appid!))?.status).toBe('authorized');
      // The dashboard lists the merchant with its name from api_get_authorizer_info.
      await page.goto(`${w.url}/`);
      const row = page.locator('table').first().locator('tr', { hasText: appid! });
      await expect(row.textContent()).resolves.toMatch(/authorized/);
      const account = w.sandbox.accounts.find((a) => a.appid === appid)!;
      await expect(row.textContent()).resolves.toContain(account.nickName);
      await page.screenshot({ path: join(tmpdir(), 'wxopen-dashboard.png'), fullPage: true });
    }, 60_000);
  });
} else {
  noteSkipped('browser authorization test', `Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
