import type { Logger } from '../util/logger.js';
import type { SandboxClock } from './clock.js';
import type { Counters } from './counters.js';
import type { FaultTable } from './faults.js';
import type { Pusher } from './pusher.js';
import type { QuotaBook } from './quotas.js';
import type { Scheduler } from './scheduler.js';
import type { SandboxState } from './state.js';

/** What every sandbox route needs; built once by `buildSandboxApp`. */
export interface SandboxContext {
  state: SandboxState;
  clock: SandboxClock;
  quotas: QuotaBook;
  counters: Counters;
  faults: FaultTable;
  pusher: Pusher;
  scheduler: Scheduler;
  logger: Logger | undefined;
  /** The base URL browsers reach the sandbox at (links it hands out, such as avatars); set at listen when not given. */
  publicUrl: string | undefined;
}
