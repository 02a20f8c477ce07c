import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminContext, RouteAuth } from '../context.js';
import { TEMPLATE_LIBRARY_LIMIT, TemplateLibrary, type TemplateType } from '../templates.js';
import { AdminForbiddenError } from './errors.js';
import { authErrors, errorSchema, security } from './schemas.js';

const read: RouteAuth = { access: 'bearer', scope: 'templates:read' };
const write: RouteAuth = { access: 'bearer', scope: 'templates:write' };

const nullableString = { type: ['string', 'null'] } as const;
const source = { source_miniprogram_appid: nullableString, source_miniprogram: nullableString, developer: nullableString } as const;

export const templateSchema = {
  type: 'object',
  properties: {
    template_id: { type: 'integer' },
    template_type: { type: 'integer', description: '0 normal template, 1 standard template library' },
    draft_id: { type: ['integer', 'null'] },
    user_version: { type: 'string' },
    user_desc: { type: 'string' },
    create_time: { type: 'string', format: 'date-time' },
    ...source,
  },
} as const;

const draftSchema = {
  type: 'object',
  properties: {
    draft_id: { type: 'integer' },
    user_version: { type: 'string' },
    user_desc: { type: 'string' },
    create_time: { type: 'string', format: 'date-time' },
    ...source,
    template_ids: { type: 'array', items: { type: 'integer' }, description: 'templates already made from this draft' },
  },
} as const;

/** Templates are the component's, not one merchant's: a key narrowed to some authorizers may not change them. */
function componentWide(req: FastifyRequest): void {
  if (req.principal!.authorizers !== null) throw new AdminForbiddenError('this key is limited to some authorizers and may not change the component template library');
}

/** The code template library (spec 5.1): drafts uploaded from WeChat DevTools, templates made from them. */
export async function templateApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const library = new TemplateLibrary(ctx.platform);

  app.get(
    '/api/v1/templates/drafts',
    {
      config: read,
      schema: {
        tags: ['templates'],
        summary: 'The draft box (gettemplatedraftlist), newest first, with the templates made from each draft',
        security,
        response: { 200: { type: 'object', properties: { drafts: { type: 'array', items: draftSchema } } }, 502: errorSchema, ...authErrors },
      },
    },
    async () => ({ drafts: await library.drafts() }),
  );

  app.get<{ Querystring: { template_type?: TemplateType } }>(
    '/api/v1/templates',
    {
      config: read,
      schema: {
        tags: ['templates'],
        summary: `The template library (gettemplatelist), newest first; it holds at most ${TEMPLATE_LIBRARY_LIMIT} templates`,
        security,
        querystring: { type: 'object', properties: { template_type: { type: 'integer', enum: [0, 1] } } },
        response: {
          200: { type: 'object', properties: { limit: { type: 'integer' }, count: { type: 'integer' }, templates: { type: 'array', items: templateSchema } } },
          502: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => library.templates(req.query.template_type),
  );

  app.post<{ Body: { draft_id: number; template_type?: TemplateType } }>(
    '/api/v1/templates',
    {
      config: write,
      schema: {
        tags: ['templates'],
        summary: 'Add a draft to the template library (addtotemplate); 409 with errcode 85065 when the library is full',
        security,
        body: {
          type: 'object',
          required: ['draft_id'],
          additionalProperties: false,
          properties: { draft_id: { type: 'integer', minimum: 0 }, template_type: { type: 'integer', enum: [0, 1], default: 0 } },
        },
        response: { 201: templateSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema, 502: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      componentWide(req);
      const template = await library.add(req.body.draft_id, req.body.template_type ?? 0);
      await ctx.audit(req.principal!, 'template.add', String(template.template_id), { draft_id: req.body.draft_id });
      return reply.code(201).send(template);
    },
  );

  app.delete<{ Params: { template_id: number } }>(
    '/api/v1/templates/:template_id',
    {
      config: write,
      schema: {
        tags: ['templates'],
        summary: 'Delete a template from the library (deletetemplate); 404 with errcode 85064 when there is none',
        security,
        params: { type: 'object', required: ['template_id'], properties: { template_id: { type: 'integer', minimum: 0 } } },
        response: { 200: { type: 'object', properties: { template_id: { type: 'integer' }, deleted: { type: 'boolean' } } }, 404: errorSchema, 502: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      componentWide(req);
      await library.delete(req.params.template_id);
      await ctx.audit(req.principal!, 'template.delete', String(req.params.template_id));
      return { template_id: req.params.template_id, deleted: true };
    },
  );
}
