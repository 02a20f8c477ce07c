import type { Config } from '../config.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { Platform } from '../platform.js';
import type { AuthorizerRecord, Store } from '../store/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { Fleet, type FleetOptions } from './fleet.js';

export interface CreateFleetOptions extends Partial<Omit<FleetOptions, 'componentAppid' | 'store' | 'wxa' | 'listAuthorizers' | 'templateIds'>> {
  platform: Platform;
  store: Store;
  config: Config;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
}

/** The fleet of a platform: its store, its typed clients, BullMQ when the config has a Redis URL. */
export function createFleet(o: CreateFleetOptions): Fleet {
  const componentAppid = o.config.componentAppid;
  return new Fleet({
    ...o,
    componentAppid,
    store: o.store,
    wxa: (appid) => o.platform.authorizer(appid).wxa,
    listAuthorizers: () => listAll(o.store, componentAppid),
    // Both template types: a deploy may use a normal or a standard template.
    templateIds: async () => new Set((await o.platform.componentApi.templates.getTemplateList()).template_list.map((t) => t.template_id)),
    clock: o.clock ?? systemClock,
    logger: o.logger ?? createLogger({ level: o.config.logLevel }),
    metrics: o.metrics ?? createMetrics({ defaultMetrics: false }),
    redisUrl: o.redisUrl ?? o.config.redisUrl,
  });
}

async function listAll(store: Store, componentAppid: string): Promise<AuthorizerRecord[]> {
  const out: AuthorizerRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.listAuthorizers(componentAppid, { status: 'authorized', limit: 1000, ...(after !== undefined && { after }) });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.authorizerAppid;
  }
}
