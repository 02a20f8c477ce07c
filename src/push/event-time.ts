/**
 * The time to order an event by (Unix s): its CreateTime, unless that lies more than `maxSkewSeconds`
 * in the future of when we received it, then the receive time. An authentic push can carry a
 * CreateTime far ahead (a wrong clock, a crafted test push): trusted, one such ticket would supersede
 * every later ticket until it died. A past CreateTime is kept: an old event is old, and ordering it
 * as old is exactly what stops a late `unauthorized` from revoking a newer authorization.
 */
export function orderingTime(createTime: number, receivedAtMs: number, maxSkewSeconds: number): number {
  const received = Math.floor(receivedAtMs / 1000);
  return Number.isFinite(createTime) && createTime - received <= maxSkewSeconds ? createTime : received;
}
