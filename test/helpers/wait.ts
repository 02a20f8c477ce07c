/**
 * Polls `probe` until it gives a value (not `undefined`), for what tests wait on across processes or the event
 * loop (a watcher's output, a job's state, a server's answer). Real time bounds only the failure: a passing test
 * never waits longer than it has to, and a failing one names what it waited for (and `state()`, if given).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  o: { timeoutMs?: number; intervalMs?: number; state?: () => Promise<unknown> } = {},
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${o.state ? `: ${JSON.stringify(await o.state())?.slice(0, 2000)}` : ''}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 50));
  }
}

/** `until` for a value read again and again until `ok(value)` (30 s by default); the last value read is in the failure. */
export function untilValue<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, o: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  let last: T | undefined;
  return until(
    what,
    async () => {
      last = await read();
      return ok(last) ? last : undefined;
    },
    { timeoutMs: 30_000, ...o, state: async () => last },
  );
}
