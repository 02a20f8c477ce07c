import { reject } from './errors.js';

export const TEMPLATE_LIBRARY_CAP = 200;

export interface Draft {
  draft_id: number;
  user_version: string;
  user_desc: string;
  /** Unix seconds. */
  create_time: number;
  source_miniprogram_appid: string;
  source_miniprogram: string;
  developer: string;
  /** Pages of the uploaded code package (get_page answers these after a commit). */
  pages: string[];
}

export interface Template extends Omit<Draft, 'draft_id'> {
  template_id: number;
  draft_id: number;
  /** 0 normal template, 1 standard template library. */
  template_type: 0 | 1;
}

/** The component's draft box and template library (spec 5.1). */
export class TemplateLibrary {
  readonly drafts: Draft[] = [];
  readonly templates: Template[] = [];
  private nextDraftId = 1;
  private nextTemplateId = 1;

  constructor(private readonly nowSeconds: () => number) {}

  /** What a developer's upload from WeChat DevTools produces. */
  addDraft(input: Partial<Omit<Draft, 'draft_id' | 'create_time'>> = {}): Draft {
    const draft: Draft = {
      draft_id: this.nextDraftId++,
      user_version: input.user_version ?? `1.0.${this.nextDraftId - 1}`,
      user_desc: input.user_desc ?? 'sandbox draft',
      create_time: this.nowSeconds(),
      source_miniprogram_appid: input.source_miniprogram_appid ?? 'wx5c9d0e3a7f1b2846',
      source_miniprogram: input.source_miniprogram ?? '模板开发小程序',
      developer: input.developer ?? 'sandbox-dev',
      pages: input.pages ?? ['pages/index/index', 'pages/detail/detail', 'pages/me/me'],
    };
    this.drafts.push(draft);
    return draft;
  }

  addToTemplate(draftId: unknown, templateType: unknown): Template {
    const type = templateType ?? 0;
    if (type !== 0 && type !== 1) reject(47001);
    const draft = this.drafts.find((d) => d.draft_id === draftId);
    if (!draft) reject(85064);
    if (this.templates.length >= TEMPLATE_LIBRARY_CAP) reject(85065);
    const { draft_id, ...rest } = draft;
    const template: Template = { ...rest, draft_id, template_id: this.nextTemplateId++, template_type: type, create_time: this.nowSeconds() };
    this.templates.push(template);
    return template;
  }

  get(templateId: number): Template | undefined {
    return this.templates.find((t) => t.template_id === templateId);
  }

  delete(templateId: unknown): void {
    const i = this.templates.findIndex((t) => t.template_id === templateId);
    if (i < 0) reject(85064);
    this.templates.splice(i, 1);
  }
}
