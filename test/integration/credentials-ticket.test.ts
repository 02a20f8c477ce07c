/**
 * component_access_token around its ticket: how old a ticket may be (12 h, to the millisecond), the message
 * that says why there is none, a -1 on api_component_token retried (the call is safe to repeat), and what
 * a refresh reports (metric by outcome, one info line without the token). Frozen base clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TicketMissingError } from '../../src/errors.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const PUSH_TICKET = '/cgi-bin/component/api_start_push_ticket';
const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
afterEach(async () => {
  await w?.close();
});

const refreshes = async (world: World) => world.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_token_refreshes_total');

describe('component ticket and token', () => {
  it('a ticket is used up to 12 h after it arrived, and refused after, saying how old it is', async () => {
    w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    await w.sandbox.advance(12 * HOUR);
    expect(await w.platform.component.ensureTicket()).toBe('requested');
    expect(w.sandbox.counters.get(PUSH_TICKET)).toBe(1);
    await w.settle();
    // The pushed ticket is fresh again; 12 h later to the millisecond it is still usable.
    await w.sandbox.advance(12 * HOUR - 1);
    expect(await w.platform.component.ensureTicket()).toBe('present');
    expect(await w.platform.componentToken()).toMatch(/.+/);
  });

  it('names the missing ticket: none yet, or its age in minutes', async () => {
    w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
    const none = await w.platform.component.get().catch((e: unknown) => e);
    expect(none).toBeInstanceOf(TicketMissingError);
    expect((none as Error).message).toContain('none has been received yet');
    await w.sandbox.pushTicket();
    await w.settle();
    await w.sandbox.advance(13 * HOUR);
    const old = await w.platform.component.get().catch((e: unknown) => e);
    expect(old).toBeInstanceOf(TicketMissingError);
    expect((old as Error).message).toContain('the newest is 780 min old (valid 12 h)');
  });

  it('a -1 on api_component_token is retried, and a refresh is counted and logged once without the token', async () => {
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger });
    await w.sandbox.pushTicket();
    await w.settle();
    w.sandbox.faults.set(TOKEN, { type: 'system_busy', times: 1 });
    const token = await w.platform.componentToken();
    expect(w.sandbox.counters.get(TOKEN)).toBe(2);
    expect(await refreshes(w)).toMatch(/kind="component",outcome="ok"} 1/);
    const info = lines.filter((l) => l.msg === 'token refreshed');
    expect(info.map((l) => [l.kind, l.expiresAt])).toEqual([['component', new Date(T0 + 7200_000).toISOString()]]);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});
