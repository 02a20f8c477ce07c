import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * Ends the run with the plain `tests: N passed, N failed, N skipped` line CI reads. A test that did not
 * run because its suite's setup (beforeAll) or its file failed is failed, not skipped: otherwise a
 * suite that cannot reach its database would read as a harmless skip.
 */
export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed' || setupFailed(test)) failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

/** Whether an enclosing suite or the file itself recorded an error of its own (a hook, an import). */
function setupFailed(test: TestCase): boolean {
  for (let p: TestCase['parent'] | undefined = test.parent; p; p = p.type === 'module' ? undefined : p.parent) {
    if (p.errors().length > 0) return true;
  }
  return false;
}
