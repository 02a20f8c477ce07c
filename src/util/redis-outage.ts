import { Redis, type RedisOptions } from 'ioredis';

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

/**
 * A client for `url` with `options` as given, its outages reported from the moment it exists: a client without the
 * listener prints a stack per reconnect attempt, so no site may create one and forget it. `failed` is
 * reportOutages' function for failed commands.
 */
export function redisClient(url: string, options: RedisOptions, report?: (err: unknown) => void): { redis: Redis; failed: (err: unknown) => void } {
  const redis = new Redis(url, options);
  return { redis, failed: reportOutages(redis, report) };
}
