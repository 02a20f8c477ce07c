import type { Redis } from 'ioredis';

/**
 * An ioredis client's connection errors, reported once per outage. ioredis emits one per reconnect attempt
 * (about one a second while Redis is down) and, with no listener, prints each with its stack as an unhandled
 * 'error' event: a Redis outage filled stderr with thousands of stacks. `report` hears the first connection
 * error after the client was ready (or created); the next `ready` ends the outage. The returned function is for
 * failed commands: reported unless an outage is already reported.
 */
export function reportOutages(redis: Redis, report: (err: unknown) => void = () => {}): (err: unknown) => void {
  let down = false;
  redis.on('error', (err: unknown) => {
    if (down) return;
    down = true;
    report(err);
  });
  redis.on('ready', () => {
    down = false;
  });
  return (err) => {
    if (!down) report(err);
  };
}
