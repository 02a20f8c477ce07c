import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { jsonBody, queryParam, requireComponentToken } from '../guards.js';
import type { Draft } from '../templates.js';

/** Component-level token in `access_token` (spec 3.0, 5.1); component_access_token is accepted too. */
const TEMPLATE_TOKEN_PARAMS = ['access_token', 'component_access_token'] as const;

function publicDraft({ pages: _pages, ...draft }: Draft) {
  return draft;
}

/** The code template library (spec 5.1). */
export async function templateRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const library = ctx.state.templates;

  app.get('/wxa/gettemplatedraftlist', async (request) => {
    requireComponentToken(ctx, request, TEMPLATE_TOKEN_PARAMS);
    return { errcode: 0, errmsg: 'ok', draft_list: library.drafts.map(publicDraft) };
  });

  app.post('/wxa/addtotemplate', async (request) => {
    requireComponentToken(ctx, request, TEMPLATE_TOKEN_PARAMS);
    const body = jsonBody(request);
    library.addToTemplate(body.draft_id, body.template_type);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/wxa/gettemplatelist', async (request) => {
    requireComponentToken(ctx, request, TEMPLATE_TOKEN_PARAMS);
    const type = queryParam(request, 'template_type');
    if (type !== undefined && type !== '0' && type !== '1') reject(47001);
    const list = library.templates.filter((t) => type === undefined || String(t.template_type) === type);
    return { errcode: 0, errmsg: 'ok', template_list: list.map(({ pages: _pages, ...t }) => t) };
  });

  app.post('/wxa/deletetemplate', async (request) => {
    requireComponentToken(ctx, request, TEMPLATE_TOKEN_PARAMS);
    const body = jsonBody(request);
    library.delete(body.template_id);
    return { errcode: 0, errmsg: 'ok' };
  });
}
