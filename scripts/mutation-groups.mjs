// The mutation run's groups: which rooms are mutated together and which (fast, in-process) tests judge them.
// Shared by stryker.config.mjs, vitest.mutation.config.ts and scripts/mutation.mjs.
//
// Running each group against only its own tests keeps a mutant's cost to the tests that can be about it: every
// integration test touches src/crypto (the sandbox signs pushes with it), so one run over everything spent ~5 s
// per crypto mutant re-importing Fastify and the sandbox. The pure rooms are judged by their unit tests alone.

const UNIT = 'test/unit/**/*.test.ts';
const INTEGRATION = 'test/integration/**/*.test.ts';
const CREDENTIALS_INTEGRATION = [
  'test/integration/credentials*.test.ts',
  'test/integration/creds-hardening.test.ts',
  'test/integration/refresher.test.ts',
  'test/integration/happy-path.test.ts',
  'test/integration/component-push.test.ts',
  'test/integration/authorizer-push.test.ts',
];

export const MUTATION_GROUPS = {
  crypto: { mutate: ['src/crypto/**/*.ts'], tests: [UNIT] },
  xml: { mutate: ['src/xml/**/*.ts'], tests: [UNIT] },
  push: { mutate: ['src/push/**/*.ts'], tests: [UNIT] },
  // rate-limit.ts is judged by the rate limiter contract (memory, and Redis when WXOPEN_TEST_REDIS_URL is set).
  api: { mutate: ['src/api/**/*.ts'], tests: [UNIT, 'test/contract/rate-limit.test.ts'] },
  // The lock contract on every backend (memory, Redis, PostgreSQL, the SQLite lease file).
  lock: { mutate: ['src/lock/**/*.ts'], tests: [UNIT, 'test/contract/locks.test.ts', 'test/contract/sqlite-lease.test.ts'] },
  // Only the integration files that drive the token managers, the exchanges and the refresher: the others
  // (admin, API groups, messages…) reach src/credentials too, but only as a way in, and would add seconds per mutant.
  credentials: { mutate: ['src/credentials/**/*.ts'], tests: [UNIT, ...CREDENTIALS_INTEGRATION] },
  // The integration files that drive the message URL (every other one only touches it in passing, and each
  // costs a sandbox and a server per mutant).
  messages: {
    mutate: ['src/messages/**/*.ts'],
    tests: [UNIT, ...['messages', 'messages-redis', 'release-test', 'authorizer-push'].map((f) => `test/integration/${f}.test.ts`)],
  },
  // The fleet's pure core, its step functions and the Fleet class have unit tests (fake WeChat, in-memory SQLite);
  // the work-queue contract runs both runners (BullMQ when WXOPEN_TEST_REDIS_URL is set). Its sandbox runs are slow.
  fleet: { mutate: ['src/fleet/**/*.ts'], tests: [UNIT, 'test/contract/fleet-queue.test.ts'] },
};

/** Never mutated: barrels only re-export. */
export const NOT_MUTATED = ['!src/**/index.ts'];

/** Never run in a mutation run: they spawn processes (CLI, kill -9, stampede, npm pack + tsc) or drive a browser. */
export const SLOW_TESTS = ['test/integration/cli*.test.ts', 'test/resilience/**', 'test/browser/**', '**/node_modules/**', 'test/integration/package.test.ts'];

/** The group named by WXOPEN_MUTATION_GROUP, or all of them merged (a plain `npx stryker run`). */
export function selectedGroup(env = process.env) {
  const name = env.WXOPEN_MUTATION_GROUP;
  if (name) {
    const g = MUTATION_GROUPS[name];
    if (!g) throw new Error(`WXOPEN_MUTATION_GROUP=${name}: expected one of ${Object.keys(MUTATION_GROUPS).join(', ')}`);
    return { name, ...g };
  }
  const all = Object.values(MUTATION_GROUPS);
  return {
    name: 'all',
    mutate: [...new Set(all.flatMap((g) => g.mutate))],
    tests: [...new Set(all.flatMap((g) => g.tests))],
  };
}
