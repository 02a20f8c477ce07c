import { describe, expect, it } from 'vitest';
import { toPushEvent } from '../../../src/push/events.js';
import { orderingTime } from '../../../src/push/event-time.js';

describe('orderingTime: the time an event is ordered by', () => {
  const receivedMs = 1_700_000_000_900; // received at 1700000000.9 s
  it('keeps CreateTime up to maxSkewSeconds ahead of the receive time (inclusive), and any past one', () => {
    expect(orderingTime(1_700_000_300, receivedMs, 300)).toBe(1_700_000_300);
    expect(orderingTime(1_700_000_000, receivedMs, 300)).toBe(1_700_000_000);
    expect(orderingTime(1_600_000_000, receivedMs, 300)).toBe(1_600_000_000);
  });

  it('uses the receive time (whole seconds) for a CreateTime further ahead, or one that is not a number', () => {
    expect(orderingTime(1_700_000_301, receivedMs, 300)).toBe(1_700_000_000);
    expect(orderingTime(Number.NaN, receivedMs, 300)).toBe(1_700_000_000);
    expect(orderingTime(Number.POSITIVE_INFINITY, receivedMs, 300)).toBe(1_700_000_000);
    expect(orderingTime(Number.NEGATIVE_INFINITY, receivedMs, 300)).toBe(1_700_000_000);
  });
});

describe('PushSchemaError names the field and what zod found wrong with it', () => {
  it('reports zod’s own message, not a generic one', () => {
    expect(() => toPushEvent({ AppId: 'wx', CreateTime: 'x', InfoType: 'component_verify_ticket', ComponentVerifyTicket: 't' }, '')).toThrow(
      /component_verify_ticket: CreateTime Invalid string: must match pattern/,
    );
  });
});
