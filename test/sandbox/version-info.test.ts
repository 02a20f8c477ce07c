import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedToken, call, componentToken, MP, startWorld, type World } from './helpers.js';

describe('getversioninfo: the trial and online versions (how a caller learns its commit landed)', () => {
  let world: World;
  let aat: string;
  beforeAll(async () => {
    world = await startWorld({ auditDelaySeconds: 10 });
    const cat = await componentToken(world.sandbox);
    aat = (await authorizedToken(world.sandbox, cat, MP, [18])).aat;
  });
  afterAll(async () => world.close());

  const wxa = (path: string, body?: unknown) => call(world.sandbox.url, `/wxa/${path}`, { query: { access_token: aat }, ...(body !== undefined && { body }) });

  it('has neither before a commit, the trial after it, and the online version after release', async () => {
    const none = await wxa('getversioninfo', {});
    expect(none.errcode).toBe(0);
    expect(none.json).not.toHaveProperty('exp_info');
    expect(none.json).not.toHaveProperty('release_info');

    const draft = world.sandbox.addDraft({ user_version: '5.0.0' });
    const templateId = world.sandbox.state.templates.addToTemplate(draft.draft_id, 0).template_id;
    const at = Math.floor(world.sandbox.clock.now() / 1000);
    expect((await wxa('commit', { template_id: templateId, ext_json: '{}', user_version: '5.0.0', user_desc: 'five' })).errcode).toBe(0);
    const trial = await wxa('getversioninfo', {});
    expect(trial.json.exp_info).toEqual({ exp_time: at, exp_version: '5.0.0', exp_desc: 'five' });
    expect(trial.json).not.toHaveProperty('release_info');

    expect((await wxa('submit_audit', {})).errcode).toBe(0);
    await world.sandbox.advance(10_000);
    expect((await wxa('release', {})).errcode).toBe(0);
    const online = await wxa('getversioninfo', {});
    expect(online.json.release_info).toEqual({ release_time: at + 10, release_version: '5.0.0', release_desc: 'five' });
  });
});
