import { describe, expect, it } from 'vitest';
import { refusalBody } from '../../../src/server/refusal.js';

describe('refusal bodies', () => {
  it('are the JSON of code, reason and detail, the same whether remembered or not', () => {
    // More details for one reason than are remembered: each body still names its own detail.
    for (let skew = 0; skew < 200; skew++) {
      const detail = `timestamp is ${skew}s away from now (window 300s)`;
      const body = refusalBody('stale', detail);
      expect(JSON.parse(body)).toEqual({ error: 'WXO_ERR_PUSH_STALE', reason: 'stale', message: detail });
      expect(refusalBody('stale', detail)).toBe(body);
    }
    // Another reason with the same detail is its own body.
    expect(JSON.parse(refusalBody('bad_signature', 'timestamp is 1s away from now (window 300s)'))).toEqual({
      error: 'WXO_ERR_PUSH_BAD_SIGNATURE',
      reason: 'bad_signature',
      message: 'timestamp is 1s away from now (window 300s)',
    });
    // Quotes and control characters in a detail stay valid JSON.
    expect(JSON.parse(refusalBody('bad_event', 'a "quoted"\n<detail>')).message).toBe('a "quoted"\n<detail>');
  });
});
