// Mutation testing (`npm run test:mutation`); see README "Mutation testing" and docs/mutation-survivors.md.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NOT_MUTATED, selectedGroup } from './scripts/mutation-groups.mjs';

const root = dirname(fileURLToPath(import.meta.url));
// scripts/mutation.mjs runs one group at a time (WXOPEN_MUTATION_GROUP) and merges the reports.
const group = selectedGroup();
const reportBase = group.name === 'all' ? 'reports/mutation/mutation' : `reports/mutation/groups/${group.name}`;

// Stryker runs the tests from a copy in .stryker-tmp/, where test/helpers/vectors.ts's `../shared` path would miss
// the official vectors; point it at the real location (beside the repo, or wherever the caller says).
const vectors = resolve(root, '../shared/vectors/crypto-vectors.json');
if (!process.env.WXOPEN_VECTORS_PATH && existsSync(vectors)) process.env.WXOPEN_VECTORS_PATH = vectors;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // Mutants that do not type-check are not counted. WXOPEN_MUTATION_NO_CHECK=1 skips the checker (faster on a
  // loaded machine; such mutants then run as JavaScript and can only lower the score).
  checkers: process.env.WXOPEN_MUTATION_NO_CHECK === '1' ? [] : ['typescript'],
  tsconfigFile: 'tsconfig.build.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Mutants hit only while modules load or in beforeAll hooks ("static") would each rerun every test with a fresh
  // module graph (~30 s apiece here); they are reported as Ignored and counted in the README. Mutants hit both
  // there and inside tests still run, against the tests that cover them.
  ignoreStatic: true,
  mutate: [...group.mutate, ...NOT_MUTATED],
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `${reportBase}.html` },
  jsonReporter: { fileName: `${reportBase}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  // A 2-core machine: more runners only queue behind each other.
  concurrency: 2,
  timeoutMS: 5_000,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${group.name}.json`,
  // One temp dir per group: cleanTempDir removes the whole directory, which would pull the sandbox from under
  // another group's run started beside it.
  tempDirName: `.stryker-tmp-${group.name}`,
  cleanTempDir: true,
};
