import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';

/** The code template library (spec 5.1): component token in `access_token`. */

/** Where a draft came from (spec 5.1 lists them on drafts and templates); absent in old answers. */
const source = {
  source_miniprogram_appid: z.string().optional(),
  source_miniprogram: z.string().optional(),
  developer: z.string().optional(),
};

export const DraftListAnswer = z.looseObject({
  draft_list: z.array(
    z.looseObject({ draft_id: z.number(), user_version: z.string(), user_desc: z.string(), create_time: z.number(), ...source }),
  ),
});
export const TemplateListAnswer = z.looseObject({
  template_list: z.array(
    z.looseObject({
      template_id: z.number(),
      user_version: z.string(),
      user_desc: z.string(),
      create_time: z.number(),
      template_type: z.number().optional(),
      draft_id: z.number().optional(),
      ...source,
    }),
  ),
});
export type DraftListAnswer = z.infer<typeof DraftListAnswer>;
export type TemplateListAnswer = z.infer<typeof TemplateListAnswer>;

export function wxaTemplateApi(c: ApiCaller) {
  return {
    getDraftList: () => c.call({ method: 'GET', path: '/wxa/gettemplatedraftlist', tokenParam: 'access_token' }, DraftListAnswer),
    /** 85065 when the library holds 200 templates: delete old ones. */
    addToTemplate: (draftId: number, templateType: 0 | 1 = 0) =>
      c.call({ method: 'POST', path: '/wxa/addtotemplate', tokenParam: 'access_token', body: { draft_id: draftId, template_type: templateType } }, OkAnswer),
    getTemplateList: (templateType?: 0 | 1) => c.call({ method: 'GET', path: '/wxa/gettemplatelist', tokenParam: 'access_token', query: { template_type: templateType } }, TemplateListAnswer),
    deleteTemplate: (templateId: number) => c.call({ method: 'POST', path: '/wxa/deletetemplate', tokenParam: 'access_token', body: { template_id: templateId } }, OkAnswer),
  };
}
export type WxaTemplateApi = ReturnType<typeof wxaTemplateApi>;
