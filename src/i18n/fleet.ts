import type { Lang } from './permissions.js';

/** The dashboard's template and deploy pages, Chinese first (kept apart from the merchant pages' strings). */
const zhCN = {
  navTemplates: '代码模板',
  navDeploys: '批量部署',
  templatesTitle: '代码模板库',
  templatesIntro: '开发者在微信开发者工具上传代码后，代码进入草稿箱；把草稿添加到模板库后，即可用它为所有授权的小程序批量部署。',
  libraryUsage: (count: number, limit: number) => `模板库已用 ${count} / ${limit}`,
  libraryFull: (limit: number) => `模板库已满（最多 ${limit} 个，微信错误码 85065）：请先删除不再使用的旧模板。`,
  libraryNearlyFull: (left: number) => `模板库只剩 ${left} 个空位，请及时删除旧模板。`,
  drafts: '草稿箱',
  noDrafts: '草稿箱为空：在微信开发者工具中上传代码即可生成草稿。',
  templates: '模板',
  noTemplates: '模板库为空：从上方草稿箱添加一个模板。',
  colDraft: '草稿 ID',
  colTemplate: '模板 ID',
  colVersion: '版本号',
  colDesc: '版本描述',
  colSource: '来源小程序',
  colDeveloper: '开发者',
  colCreated: '创建时间',
  colType: '类型',
  colActions: '操作',
  inLibrary: (ids: string) => `已在模板库（模板 ${ids}）`,
  typeNormal: '普通模板',
  typeStandard: '标准模板',
  addToLibrary: '添加到模板库',
  deleteTemplate: '删除',
  deleteConfirm: '确认删除',
  added: (id: number) => `已添加为模板 ${id}。`,
  deleted: (id: number) => `已删除模板 ${id}。`,
  deployThis: '用此模板部署',
  wechatUnavailable: '暂时无法读取模板库：',
};

export type FleetMessages = typeof zhCN;

const en: FleetMessages = {
  navTemplates: 'Templates',
  navDeploys: 'Deploys',
  templatesTitle: 'Code template library',
  templatesIntro: 'Code uploaded from WeChat DevTools lands in the draft box; add a draft to the template library to deploy it to every authorized mini program.',
  libraryUsage: (count, limit) => `Library: ${count} of ${limit} used`,
  libraryFull: (limit) => `The template library is full (at most ${limit}, WeChat errcode 85065): delete templates you no longer use first.`,
  libraryNearlyFull: (left) => `Only ${left} free slots left in the template library: delete old templates soon.`,
  drafts: 'Draft box',
  noDrafts: 'The draft box is empty: upload code from WeChat DevTools to make a draft.',
  templates: 'Templates',
  noTemplates: 'The template library is empty: add one from the draft box above.',
  colDraft: 'Draft id',
  colTemplate: 'Template id',
  colVersion: 'Version',
  colDesc: 'Description',
  colSource: 'Source mini program',
  colDeveloper: 'Developer',
  colCreated: 'Created',
  colType: 'Type',
  colActions: 'Actions',
  inLibrary: (ids) => `In the library (template ${ids})`,
  typeNormal: 'Normal',
  typeStandard: 'Standard',
  addToLibrary: 'Add to library',
  deleteTemplate: 'Delete',
  deleteConfirm: 'Yes, delete',
  added: (id) => `Added as template ${id}.`,
  deleted: (id) => `Deleted template ${id}.`,
  deployThis: 'Deploy this template',
  wechatUnavailable: 'Cannot read the template library right now: ',
};

export function fleetMessages(lang: Lang): FleetMessages {
  return lang === 'en' ? en : zhCN;
}
