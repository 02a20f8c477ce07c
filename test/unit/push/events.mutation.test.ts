import { describe, expect, it } from 'vitest';
import { PushEmitter } from '../../../src/push/emitter.js';
import { PushSchemaError, toPushEvent, type PushEvent } from '../../../src/push/events.js';

const base = { AppId: 'wxcomp', CreateTime: '1700000000' };

describe('toPushEvent', () => {
  it('maps a ticket push', () => {
    expect(toPushEvent({ ...base, InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@1' }, 'raw')).toEqual({
      type: 'component_verify_ticket',
      componentAppid: 'wxcomp',
      createTime: 1_700_000_000,
      ticket: 'ticket@@@1',
      raw: 'raw',
    });
  });

  it('maps authorized and updateauthorized, keeping which one it was', () => {
    for (const InfoType of ['authorized', 'updateauthorized'] as const) {
      const e = toPushEvent({ ...base, InfoType, AuthorizerAppid: 'wxa', AuthorizationCode: 'code@@@1', PreAuthCode: 'pre@@@1' }, 'r');
      expect(e).toEqual({
        type: InfoType,
        componentAppid: 'wxcomp',
        createTime: 1_700_000_000,
        authorizerAppid: 'wxa',
        authorizationCode: 'code@@@1',
        authorizationCodeExpiresAt: undefined,
        preAuthCode: 'pre@@@1',
        raw: 'r',
      });
    }
  });

  it('reads AuthorizationCodeExpiredTime as an epoch above 1e9 and as a TTL from CreateTime otherwise (spec 2.2)', () => {
    const at = (exp: string) => {
      const e = toPushEvent({ ...base, InfoType: 'authorized', AuthorizerAppid: 'wxa', AuthorizationCode: 'c', AuthorizationCodeExpiredTime: exp }, '');
      return e.type === 'authorized' ? e.authorizationCodeExpiresAt : 'wrong type';
    };
    expect(at('1700003600')).toBe(1_700_003_600_000);
    expect(at('3600')).toBe(1_700_003_600_000);
    expect(at('1000000000')).toBe((1_700_000_000 + 1_000_000_000) * 1000);
    expect(at('1000000001')).toBe(1_000_000_001_000);
  });

  it('maps unauthorized', () => {
    expect(toPushEvent({ ...base, InfoType: 'unauthorized', AuthorizerAppid: 'wxa' }, 'r')).toEqual({
      type: 'unauthorized',
      componentAppid: 'wxcomp',
      createTime: 1_700_000_000,
      authorizerAppid: 'wxa',
      raw: 'r',
    });
  });

  it('maps an InfoType it does not model to other, with whichever appid field it carries', () => {
    const fields = { ...base, InfoType: 'notify_third_fasteregister', appid: 'wxnew' };
    expect(toPushEvent(fields, 'r')).toEqual({
      type: 'other',
      infoType: 'notify_third_fasteregister',
      componentAppid: 'wxcomp',
      createTime: 1_700_000_000,
      authorizerAppid: 'wxnew',
      fields,
      raw: 'r',
    });
    const byAuthorizer = toPushEvent({ InfoType: 'x', AuthorizerAppid: 'wxb', appid: 'wxc' }, '');
    expect(byAuthorizer).toMatchObject({ type: 'other', componentAppid: '', createTime: 0, authorizerAppid: 'wxb' });
    expect(toPushEvent({ InfoType: 'x', appid: { nested: 'no' } }, '')).toMatchObject({ authorizerAppid: undefined });
  });

  it('refuses an authentic push missing its InfoType’s required fields, naming the field', () => {
    const bad: [Record<string, string>, string][] = [
      [{ ...base, InfoType: 'component_verify_ticket' }, 'ComponentVerifyTicket'],
      [{ ...base, InfoType: 'component_verify_ticket', ComponentVerifyTicket: '' }, 'ComponentVerifyTicket'],
      [{ AppId: 'wxcomp', InfoType: 'component_verify_ticket', ComponentVerifyTicket: 't' }, 'CreateTime'],
      [{ ...base, CreateTime: '17e8', InfoType: 'component_verify_ticket', ComponentVerifyTicket: 't' }, 'CreateTime'],
      [{ ...base, InfoType: 'authorized', AuthorizerAppid: 'wxa' }, 'AuthorizationCode'],
      [{ ...base, InfoType: 'authorized', AuthorizationCode: 'c' }, 'AuthorizerAppid'],
      [{ ...base, InfoType: 'authorized', AuthorizerAppid: '', AuthorizationCode: 'c' }, 'AuthorizerAppid'],
      [{ ...base, InfoType: 'unauthorized' }, 'AuthorizerAppid'],
      [{ ...base, InfoType: '' }, 'InfoType'],
    ];
    for (const [fields, field] of bad) {
      let caught: unknown;
      try {
        toPushEvent(fields, '');
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(fields)).toBeInstanceOf(PushSchemaError);
      expect((caught as PushSchemaError).code).toBe('WXO_ERR_PUSH_BAD_EVENT');
      expect((caught as PushSchemaError).message).toContain(field);
      expect((caught as PushSchemaError).message).toContain(String(fields.InfoType));
    }
  });
});

const ticket = (t: string): PushEvent => ({ type: 'component_verify_ticket', componentAppid: 'wxc', createTime: 1, ticket: t, raw: '' });
const unauth: PushEvent = { type: 'unauthorized', componentAppid: 'wxc', createTime: 1, authorizerAppid: 'wxa', raw: '' };

describe('PushEmitter', () => {
  it('calls the handlers of the event’s type and every onAny handler, not the others', async () => {
    const e = new PushEmitter();
    const seen: string[] = [];
    e.on('component_verify_ticket', (ev) => void seen.push(`ticket ${ev.ticket}`));
    e.on('unauthorized', (ev) => void seen.push(`unauth ${ev.authorizerAppid}`));
    e.onAny((ev) => void seen.push(`any ${ev.type}`));
    e.emit(ticket('t1'));
    await e.drain();
    expect(seen.sort()).toEqual(['any component_verify_ticket', 'ticket t1']);
    e.emit(unauth);
    await e.drain();
    expect(seen.filter((s) => s.startsWith('unauth') || s === 'any unauthorized')).toHaveLength(2);
  });

  it('unsubscribes only the handler whose function was returned, also when called twice', async () => {
    const e = new PushEmitter();
    const seen: string[] = [];
    const offA = e.on('component_verify_ticket', () => void seen.push('a'));
    e.on('component_verify_ticket', () => void seen.push('b'));
    offA();
    offA();
    e.emit(ticket('t'));
    await e.drain();
    expect(seen).toEqual(['b']);
  });

  it('collects every failing handler into one AggregateError for onError, with the event', async () => {
    const e = new PushEmitter();
    const errors: [AggregateError, PushEvent][] = [];
    e.on('component_verify_ticket', () => {
      throw new Error('sync');
    });
    e.onAny(async () => {
      throw new Error('async');
    });
    e.onAny(() => undefined);
    e.onError((err, ev) => errors.push([err, ev]));
    const ev = ticket('t');
    e.emit(ev);
    await e.drain();
    expect(errors).toHaveLength(1);
    const [err, seen] = errors[0]!;
    expect(seen).toBe(ev);
    expect(err.errors.map((x: Error) => x.message).sort()).toEqual(['async', 'sync']);
    expect(err.message).toContain('2 handler(s) failed for component_verify_ticket');
  });

  it('does not call onError when every handler succeeds', async () => {
    const e = new PushEmitter();
    let called = 0;
    e.onAny(async () => undefined);
    e.onError(() => called++);
    e.emit(ticket('t'));
    await e.drain();
    expect(called).toBe(0);
  });

  it('drain waits for slow handlers, including ones started while draining', async () => {
    const e = new PushEmitter();
    const done: string[] = [];
    e.on('component_verify_ticket', async (ev) => {
      await new Promise((r) => setTimeout(r, 20));
      done.push(ev.ticket);
      if (ev.ticket === 'first') e.emit(ticket('second'));
    });
    e.emit(ticket('first'));
    await e.drain();
    expect(done).toEqual(['first', 'second']);
    await e.drain(); // nothing pending: returns at once
  });
});
