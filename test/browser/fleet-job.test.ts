import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccounts, type SandboxAccount } from '../../src/sandbox/accounts.js';
import { ADMIN_TOKEN, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { CHROMIUM, DOCS, launchChromium } from '../helpers/browser.js';
import { noteSkipped } from '../helpers/services.js';
import { until } from '../helpers/wait.js';

const SHOPS = ['青木咖啡·徐汇店', '麦香烘焙', '鲜果时光', '小满花店', '悦动健身', '拾光摄影', '半山民宿', '一碗面馆', '宠爱宠物店', '知味茶饮', '晨曦洗衣', '好邻居便利'];

/** A dozen merchants' mini programs besides the sandbox's own. */
function shops(): SandboxAccount[] {
  const category = defaultAccounts().find((a) => a.appid === 'wx5c9d0e3a7f1b2846')!.categories;
  return SHOPS.map((nickName, i) => ({
    appid: `wxf1ee70000000${String(i + 10).padStart(4, '0')}`,
    userName: `gh_f1ee7000${String(i + 10).padStart(4, '0')}`,
    nickName,
    type: 'miniprogram' as const,
    principalName: `${nickName}（示例）有限公司`,
    categories: category,
  }));
}

if (existsSync(CHROMIUM)) {
  describe('the operator deploys a template from the dashboard in a real browser (Chromium)', () => {
    let w: AdminWorld;
    let browser: Browser;
    const merchants = shops();
    beforeAll(async () => {
      w = await startAdminWorld({ fleet: { scanMs: 50 }, sandbox: { accounts: [...defaultAccounts(), ...merchants] }, env: { WXOPEN_PLATFORM_NAME: '青木云店' } });
      await w.settle();
      for (const m of merchants) await w.sandbox.authorize(m.appid, [17, 18]);
      await w.settle();
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await w?.close();
    });

    it('adds a template, starts a deploy to every mini program, watches the job page, retries the failures', async () => {
      const [, bakery, fruit, flowers, gym, , , noodles] = merchants;
      // What WeChat will say: two audits rejected, one delayed, one commit refused for its ext_json.
      w.sandbox.setAuditOutcome(bakery!.appid, 'fail', '1:小程序首页未展示门店地址<br>2:请补充隐私保护指引');
      w.sandbox.setAuditOutcome(fruit!.appid, 'fail', '商品详情页存在无法打开的链接');
      w.sandbox.setAuditOutcome(gym!.appid, 'delay', '审核排队中，预计延后 1 天');
      w.sandbox.faults.set('/wxa/commit', { type: 'body', body: { errcode: 85013, errmsg: 'invalid ext_json' }, times: 1, appid: flowers!.appid });

      const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1200, height: 900 } });
      await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (r) => r.abort());
      const page = await ctx.newPage();
      await page.goto(`${w.adminUrl}/templates`);
      await page.fill('input[name="token"]', ADMIN_TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForSelector('#drafts');
      expect(await page.locator('h1').first().textContent()).toBe('代码模板库');

      // Draft 2 → template, then "deploy this template".
      await page.locator('tr[data-draft="2"] button[type="submit"]').click();
      await page.waitForSelector('#templates-notice');
      const templateRow = page.locator('#templates tr[data-template]').first();
      const templateId = (await templateRow.getAttribute('data-template'))!;
      await templateRow.locator('a', { hasText: '用此模板部署' }).click();
      await page.waitForSelector('#new-deploy');
      expect(await page.locator('select[name="template_id"]').inputValue()).toBe(templateId);
      await page.fill('input[name="user_version"]', '2.3.0');
      await page.fill('input[name="user_desc"]', '春季新品上架');
      await page.fill('textarea[name="ext_json_default"]', '{"ext":{"theme":"spring"}}');
      await page.locator('#new-deploy button[type="submit"]').click();
      await page.waitForURL(/\/deploys\/fj_[0-9a-f]+$/);
      const jobId = page.url().split('/').pop()!;
      expect(await page.locator('#job-title').textContent()).toBe(`部署任务 ${jobId}`);

      // WeChat's audit takes its time (on the sandbox clock); the page follows the job.
      const fleet = w.fleet!;
      await until('everyone committed and in audit', async () => {
        const p = await fleet.progress(jobId);
        return p.counts.audit_submitted + p.counts.failed === p.total && p.counts.failed >= 1 ? p : undefined;
      }, { timeoutMs: 30_000 });
      await w.sandbox.advance(61_000);
      const p = await until('audits decided', async () => {
        const x = await fleet.progress(jobId);
        return x.counts.audit_submitted === 0 && x.counts.approved === 0 ? x : undefined;
      }, { timeoutMs: 30_000 });
      // Every authorized mini program with code management: the dozen shops plus none of the unauthorized ones.
      expect(p.total).toBe(merchants.length);
      expect(p.counts).toMatchObject({ rejected: 2, delayed: 1, failed: 1, released: merchants.length - 4 });

      await page.goto(`${w.adminUrl}/deploys/${jobId}`);
      const counts = page.locator('#job-counts');
      await expect(counts.locator('[data-state="released"] .n').textContent()).resolves.toBe(String(merchants.length - 4));
      await expect(counts.locator('[data-state="rejected"] .n').textContent()).resolves.toBe('2');
      await expect(counts.locator('[data-state="delayed"] .n').textContent()).resolves.toBe('1');
      const failures = page.locator('#job-failures');
      await expect(failures.locator(`tr[data-appid="${bakery!.appid}"]`).textContent()).resolves.toContain('小程序首页未展示门店地址');
      // WeChat's <br> is a line break, not text.
      expect(await failures.locator(`tr[data-appid="${bakery!.appid}"] td`).nth(3).innerHTML()).toContain('<br>');
      await expect(failures.locator(`tr[data-appid="${flowers!.appid}"]`).textContent()).resolves.toMatch(/小满花店.*失败.*85013/s);
      await expect(page.locator('#job-progress').textContent()).resolves.toContain(`${merchants.length - 1} / ${merchants.length} 个商家已结束`);
      expect(await page.locator('#job-bar span').count()).toBe(4);
      await page.screenshot({ path: join(DOCS, 'fleet-job.png'), fullPage: true });

      // Retry: the rejected ones are committed and submitted again (WeChat now approves them).
      w.sandbox.setAuditOutcome(bakery!.appid, 'success');
      w.sandbox.setAuditOutcome(fruit!.appid, 'success');
      const commitsBefore = w.sandbox.counters.get('/wxa/commit', noodles!.appid);
      await page.locator('#job-actions button', { hasText: '重试失败和驳回的商家' }).click();
      await page.waitForSelector('#job-notice');
      await expect(page.locator('#job-notice').textContent()).resolves.toBe('已重新排队 3 个商家。');
      await until('the retried merchants in audit', async () => ((await fleet.progress(jobId)).counts.audit_submitted === 3 ? true : undefined), { timeoutMs: 30_000 });
      await w.sandbox.advance(61_000);
      const final = await until('the retried merchants released', async () => {
        const x = await fleet.progress(jobId);
        return x.counts.audit_submitted === 0 && x.counts.released >= merchants.length - 1 ? x : undefined;
      }, { timeoutMs: 30_000 });
      expect(final.counts).toMatchObject({ rejected: 0, failed: 0 });
      // Merchants that were fine are never committed again.
      expect(w.sandbox.counters.get('/wxa/commit', noodles!.appid)).toBe(commitsBefore);

      await page.goto(`${w.adminUrl}/deploys/${jobId}?lang=en`);
      await expect(page.locator('#job-progress').textContent()).resolves.toContain(`${final.settled} of ${merchants.length} merchants settled`);

      // Usable on a phone: no horizontal overflow at 375 px.
      const phone = await ctx.newPage();
      await phone.setViewportSize({ width: 375, height: 800 });
      for (const path of [`/deploys/${jobId}`, '/deploys', '/templates', `/deploys/new?template_id=${templateId}`]) {
        await phone.goto(`${w.adminUrl}${path}`);
        expect(await phone.evaluate('document.documentElement.scrollWidth'), path).toBeLessThanOrEqual(375);
      }
      await ctx.close();
    }, 120_000);
  });
} else {
  noteSkipped('browser fleet job test', `Chromium at ${CHROMIUM} (apt-get install chromium)`);
}
