import { describe, expect, it } from 'vitest';
import { permissionName } from '../../src/i18n/permissions.js';
import { FUNC_SETS } from '../../src/sandbox/permissions.js';

describe('the sandbox authorization page names permission sets as WeChat does today', () => {
  it('every set it offers carries the current official name (spec 11.1), the one the dashboard shows', () => {
    for (const sets of Object.values(FUNC_SETS)) {
      for (const { id, name } of sets) expect([id, name]).toEqual([id, permissionName(id, 'zh-CN')]);
    }
    expect(FUNC_SETS.miniprogram.find((s) => s.id === 17)?.name).toBe('获取小程序码');
    expect(FUNC_SETS.official.find((s) => s.id === 15)?.name).toBe('菜单管理');
  });
});
