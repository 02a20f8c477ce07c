/** Every upstream call the sandbox received, by endpoint path and by the account it was about. */
export class Counters {
  private readonly byPath = new Map<string, number>();
  private readonly byPathAppid = new Map<string, number>();

  record(path: string, appid: string | undefined): void {
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
    if (appid !== undefined) {
      const k = `${path}|${appid}`;
      this.byPathAppid.set(k, (this.byPathAppid.get(k) ?? 0) + 1);
    }
  }

  /** Calls to `path`, all accounts together or only those about `appid`. */
  get(path: string, appid?: string): number {
    return appid === undefined ? (this.byPath.get(path) ?? 0) : (this.byPathAppid.get(`${path}|${appid}`) ?? 0);
  }

  all(): { byPath: Record<string, number>; byPathAndAppid: Record<string, Record<string, number>> } {
    const byPathAndAppid: Record<string, Record<string, number>> = {};
    for (const [k, n] of this.byPathAppid) {
      const i = k.lastIndexOf('|');
      (byPathAndAppid[k.slice(0, i)] ??= {})[k.slice(i + 1)] = n;
    }
    return { byPath: Object.fromEntries(this.byPath), byPathAndAppid };
  }

  reset(): void {
    this.byPath.clear();
    this.byPathAppid.clear();
  }
}
