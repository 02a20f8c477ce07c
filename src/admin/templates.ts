import { WeChatApiError, WxOpenError } from '../errors.js';
import type { Platform } from '../platform.js';

/** The code template library holds at most 200 templates; past that addtotemplate answers 85065 (spec 5.1). */
export const TEMPLATE_LIBRARY_LIMIT = 200;

/** The template types of addtotemplate / gettemplatelist: 0 normal, 1 standard template library (spec 5.1). */
export type TemplateType = 0 | 1;

export interface DraftView {
  draft_id: number;
  user_version: string;
  user_desc: string;
  create_time: string;
  source_miniprogram_appid: string | null;
  source_miniprogram: string | null;
  developer: string | null;
  /** Templates already made from this draft. */
  template_ids: number[];
}

export interface TemplateView {
  template_id: number;
  template_type: number;
  draft_id: number | null;
  user_version: string;
  user_desc: string;
  create_time: string;
  source_miniprogram_appid: string | null;
  source_miniprogram: string | null;
  developer: string | null;
}

export interface TemplateLibraryView {
  limit: number;
  count: number;
  templates: TemplateView[];
}

/** 85064 on deletetemplate (or on addtotemplate for a draft id WeChat does not know). */
export class TemplateNotFoundError extends WxOpenError {
  readonly code = 'WXO_ERR_TEMPLATE_NOT_FOUND';
  override readonly statusCode = 404;
  readonly errcode = 85064;
}

/** 85065: the library is full; the operator must delete old templates first. */
export class TemplateLibraryFullError extends WxOpenError {
  readonly code = 'WXO_ERR_TEMPLATE_LIBRARY_FULL';
  override readonly statusCode = 409;
  readonly errcode = 85065;
  constructor(readonly count: number | undefined) {
    super(
      `the template library is full (WeChat 85065: at most ${TEMPLATE_LIBRARY_LIMIT} templates${count === undefined ? '' : `, ${count} stored`}): delete old templates first (wxopen templates delete <template_id>)`,
    );
  }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The component's draft box and template library, for the CLI, the admin API and the dashboard: one
 * place that maps WeChat's answers to views and its template errcodes to typed errors.
 */
export class TemplateLibrary {
  constructor(private readonly platform: Platform) {}

  private get api() {
    return this.platform.componentApi.templates;
  }

  async templates(type?: TemplateType): Promise<TemplateLibraryView> {
    const answer = await this.api.getTemplateList(type);
    const templates = answer.template_list
      .map((t) => ({
        template_id: t.template_id,
        template_type: t.template_type ?? 0,
        draft_id: t.draft_id ?? null,
        user_version: t.user_version,
        user_desc: t.user_desc,
        create_time: iso(t.create_time),
        source_miniprogram_appid: str(t.source_miniprogram_appid),
        source_miniprogram: str(t.source_miniprogram),
        developer: str(t.developer),
      }))
      .sort((a, b) => b.template_id - a.template_id);
    return { limit: TEMPLATE_LIBRARY_LIMIT, count: templates.length, templates };
  }

  async drafts(): Promise<DraftView[]> {
    const [answer, library] = await Promise.all([this.api.getDraftList(), this.templates()]);
    return answer.draft_list
      .map((d) => ({
        draft_id: d.draft_id,
        user_version: d.user_version,
        user_desc: d.user_desc,
        create_time: iso(d.create_time),
        source_miniprogram_appid: str(d.source_miniprogram_appid),
        source_miniprogram: str(d.source_miniprogram),
        developer: str(d.developer),
        template_ids: library.templates.filter((t) => t.draft_id === d.draft_id).map((t) => t.template_id),
      }))
      .sort((a, b) => b.draft_id - a.draft_id);
  }

  /**
   * addtotemplate answers only an errcode, so the new template is found by listing afterwards: the
   * newest template made from this draft.
   */
  async add(draftId: number, type: TemplateType = 0): Promise<TemplateView> {
    const before = await this.templates();
    const known = new Set(before.templates.map((t) => t.template_id));
    try {
      await this.api.addToTemplate(draftId, type);
    } catch (err) {
      if (err instanceof WeChatApiError && err.errcode === 85065) throw new TemplateLibraryFullError(before.count);
      if (err instanceof WeChatApiError && err.errcode === 85064) throw new TemplateNotFoundError(`no draft ${draftId} in the draft box (WeChat 85064)`);
      throw err;
    }
    const after = await this.templates();
    const made = after.templates.find((t) => !known.has(t.template_id) && t.draft_id === draftId) ?? after.templates.find((t) => !known.has(t.template_id));
    if (!made) throw new TemplateNotFoundError(`addtotemplate accepted draft ${draftId} but no new template is listed yet; run \`wxopen templates list\``);
    return made;
  }

  async delete(templateId: number): Promise<void> {
    try {
      await this.api.deleteTemplate(templateId);
    } catch (err) {
      if (err instanceof WeChatApiError && err.errcode === 85064) throw new TemplateNotFoundError(`no template ${templateId} in the library (WeChat 85064)`);
      throw err;
    }
  }
}
