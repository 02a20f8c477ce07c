import type { Command } from 'commander';
import { cliConfig, openCommandPlatform } from '../context.js';
import { CliError } from '../failures.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

function id(name: string, value: string): number {
  if (!/^\d{1,12}$/.test(value)) throw new CliError('WXO_ERR_USAGE', `${name} must be a whole number (0 or more), not ${JSON.stringify(value)}`);
  return Number(value);
}

/** A TemplateLibrary on the project's platform (the running server's sandbox in sandbox mode). */
async function withLibrary<T>(run: (library: import('../../admin/templates.js').TemplateLibrary) => Promise<T>): Promise<T> {
  const p = await openCommandPlatform(cliConfig());
  try {
    const { TemplateLibrary } = await import('../../admin/templates.js');
    return await run(new TemplateLibrary(p.platform));
  } finally {
    await p.close();
  }
}

const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** `wxopen templates drafts|list|add|delete`: the code template library (spec 5.1). */
export function registerTemplateCommands(program: Command): void {
  const templates = program
    .command('templates')
    .description('the code template library: drafts uploaded from WeChat DevTools and the templates (at most 200) deploys use');
  templates
    .command('drafts')
    .description('list the draft box (gettemplatedraftlist), newest first')
    .option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }) => {
      await withLibrary(async (library) => {
        const drafts = await library.drafts();
        if (o.json) return out(JSON.stringify(drafts));
        if (drafts.length === 0) return out('no drafts (upload code from WeChat DevTools first)');
        out(`${'DRAFT'.padEnd(7)}${'VERSION'.padEnd(14)}${'CREATED'.padEnd(18)}${'TEMPLATES'.padEnd(11)}DESCRIPTION`);
        for (const d of drafts) out(`${String(d.draft_id).padEnd(7)}${d.user_version.padEnd(14)}${day(d.create_time).padEnd(18)}${(d.template_ids.join(',') || '-').padEnd(11)}${d.user_desc}`);
      });
    });
  templates
    .command('list')
    .description('list the template library (gettemplatelist), newest first, and how full it is')
    .option('--type <type>', 'only normal (0) or standard (1) templates')
    .option('--json', 'print one JSON object {limit, count, templates}')
    .action(async (o: { type?: string; json?: boolean }) => {
      if (o.type !== undefined && o.type !== '0' && o.type !== '1') throw new CliError('WXO_ERR_USAGE', '--type must be 0 (normal) or 1 (standard)');
      await withLibrary(async (library) => {
        const lib = await library.templates(o.type === undefined ? undefined : (Number(o.type) as 0 | 1));
        if (o.json) return out(JSON.stringify(lib));
        out(`${lib.count} of ${lib.limit} templates${lib.count >= lib.limit ? ' (full: delete old ones before adding)' : ''}`);
        if (lib.count === 0) return out('add one with: wxopen templates add <draft_id>');
        out(`${'TEMPLATE'.padEnd(10)}${'VERSION'.padEnd(14)}${'TYPE'.padEnd(10)}${'DRAFT'.padEnd(7)}${'CREATED'.padEnd(18)}DESCRIPTION`);
        for (const t of lib.templates) {
          out(`${String(t.template_id).padEnd(10)}${t.user_version.padEnd(14)}${(t.template_type === 1 ? 'standard' : 'normal').padEnd(10)}${String(t.draft_id ?? '-').padEnd(7)}${day(t.create_time).padEnd(18)}${t.user_desc}`);
        }
      });
    });
  templates
    .command('add')
    .description('add a draft to the template library (addtotemplate); prints the new template id')
    .argument('<draft_id>', 'draft id (from `wxopen templates drafts`)')
    .option('--standard', 'add to the standard template library (template_type 1)')
    .option('--json', 'print the new template as JSON')
    .action(async (draftId: string, o: { standard?: boolean; json?: boolean }) => {
      const n = id('draft_id', draftId);
      await withLibrary(async (library) => {
        const t = await library.add(n, o.standard ? 1 : 0);
        out(o.json ? JSON.stringify(t) : `added draft ${n} as template ${t.template_id} (${t.user_version})`);
      });
    });
  templates
    .command('delete')
    .description('delete a template from the library (deletetemplate)')
    .argument('<template_id>', 'template id (from `wxopen templates list`)')
    .option('--json', 'print JSON')
    .action(async (templateId: string, o: { json?: boolean }) => {
      const n = id('template_id', templateId);
      await withLibrary(async (library) => {
        await library.delete(n);
        out(o.json ? JSON.stringify({ template_id: n, deleted: true }) : `deleted template ${n}`);
      });
    });
}
