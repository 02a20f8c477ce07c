export { Fleet, type FleetOptions, type FleetActionResult } from './fleet.js';
export { createFleet } from './create.js';
export { FleetValidationError, FleetNotFoundError, FleetStateError, FleetTemplateCheckError, type FleetIssue, type FleetValidationSubject } from './errors.js';
export { parseExtJsonFile, validateExtJson, parseCsv, EXT_JSON_MAX_BYTES, type ExtJsonCheck } from './ext-json.js';
export { planDeploy, deployable, CODE_MANAGEMENT_SET, type CreateJobInput, type TargetSelector, type ExtJsonSources, type Plan } from './planner.js';
export { progressOf, reportToCsv, type FleetProgress } from './report.js';
export {
  TARGET_STATES,
  isSettled,
  nextStep,
  resolveOptions,
  stateForAuditStatus,
  type TargetState,
  type JobStatus,
  type FleetStep,
  type FleetPauseCode,
  type DeployOptions,
  type ResolvedDeployOptions,
  type FleetJob,
  type FleetTarget,
} from './model.js';
