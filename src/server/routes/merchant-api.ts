import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AuthorizerNotFoundError, WeChatApiError, WxOpenError } from '../../errors.js';
import type { Platform } from '../../platform.js';
import type { AppContext } from '../context.js';
import { APPID } from '../../util/appid.js';

/**
 * A string field whose refusal names the field and what belongs in it, for the merchant's developer reading
 * the 400 (zod's own text, "url: Invalid input: expected string, received undefined", tells them neither).
 */
function field(name: string, what: string, max: number) {
  const required = `${name} is required: ${what}`;
  return z
    .string({ error: (iss) => (iss.input === undefined ? required : `${name} must be a string: ${what}`) })
    .min(1, { error: required })
    .max(max, { error: `${name} is too long (at most ${max} characters): ${what}` });
}

const body = { error: 'body must be a JSON object' };
const appidParam = z.object({ appid: z.string().regex(APPID, { error: 'appid in the path must be an appid: wx followed by 16 letters or digits' }) });
const loginBody = z.object({ code: field('code', 'the code wx.login() gave the mini program', 256) }, body);
const decryptBody = z.object(
  {
    sessionId: field('sessionId', 'the sessionId POST /wxa/<appid>/login answered', 128),
    encryptedData: field('encryptedData', 'the encryptedData of the open data (e.g. getPhoneNumber)', 64 * 1024),
    iv: field('iv', 'the iv that came with encryptedData', 64),
  },
  body,
);
const signQuery = z.object({ url: field('url', 'the page URL the JS-SDK runs on', 4096) });

class BadRequestError extends WxOpenError {
  readonly code = 'WXO_ERR_BAD_REQUEST';
  override readonly statusCode = 400;
}

function json(raw: unknown): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : '');
  } catch {
    throw new BadRequestError('body must be JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new BadRequestError(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

/**
 * Endpoints a merchant's mini program or web page calls: login (jscode2session, session id out,
 * session_key kept), open-data decryption, and JS-SDK wx.config signatures for its own domains.
 * Answers are JSON; failures `{error, message, …}` with a 4xx for anything the caller can fix.
 */
export async function merchantApiRoutes(app: FastifyInstance, ctx: AppContext & { platform: Platform }): Promise<void> {
  const { platform, logger } = ctx;

  const fail = (reply: FastifyReply, err: unknown) => {
    if (err instanceof WeChatApiError) {
      logger.warn({ errcode: err.errcode, path: err.path, rid: err.rid }, 'merchant API call refused by WeChat');
      const status = err.errorClass === 'reauthorize' ? 409 : 502;
      return reply.code(status).send({ error: err.code, errcode: err.errcode, message: err.detail });
    }
    if (err instanceof WxOpenError && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code, ...('reason' in err && { reason: err.reason }), message: err.detail });
    }
    throw err;
  };

  /** Only accounts that authorized this platform: the endpoints are no proxy for arbitrary appids. */
  const authorized = async (appid: string) => {
    const r = await ctx.store.getAuthorizer(platform.componentAppid, appid);
    if (!r || r.status !== 'authorized') throw new AuthorizerNotFoundError(appid);
  };

  app.post('/wxa/:appid/login', async (req, reply) => {
    try {
      const { appid } = parse(appidParam, req.params);
      const { code } = parse(loginBody, json(req.body));
      await authorized(appid);
      const r = await platform.login.code2session(appid, code);
      return reply.send({ sessionId: r.sessionId, openid: r.openid, unionid: r.unionid ?? null, expiresAt: r.expiresAt });
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post('/wxa/:appid/decrypt', async (req, reply) => {
    try {
      const { appid } = parse(appidParam, req.params);
      const b = parse(decryptBody, json(req.body));
      return reply.send({ data: await platform.login.decrypt(appid, b.sessionId, b.encryptedData, b.iv) });
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get('/jssdk/:appid/signature', async (req, reply) => {
    try {
      const { appid } = parse(appidParam, req.params);
      const { url } = parse(signQuery, req.query);
      await authorized(appid);
      return reply.header('cache-control', 'no-store').send(await platform.jssdk.sign(appid, url));
    } catch (err) {
      return fail(reply, err);
    }
  });
}
