#!/usr/bin/env node
// The npm registry these machines reach serves only this platform's builds of native optional
// packages (e.g. @rollup/rollup-linux-x64-gnu but not -darwin-arm64), so `npm install` leaves the
// others out of package-lock.json while still listing them under their parent's
// optionalDependencies, and `npm ci` then refuses the lock as out of sync. This drops those dangling
// optional names from the lock so `npm ci` installs exactly what the lock holds. Runs from `prepare`;
// a no-op when nothing dangles. (Other platforms: use `npm install`, which resolves their binaries.)
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const text = readFileSync(path, 'utf8');
const lock = JSON.parse(text);
const packages = lock.packages ?? {};
const dropped = [];
for (const [key, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies;
  if (!optional) continue;
  for (const name of Object.keys(optional)) {
    const nested = key === '' ? `node_modules/${name}` : `${key}/node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    delete optional[name];
    dropped.push(name);
  }
  if (Object.keys(optional).length === 0) delete entry.optionalDependencies;
}
if (dropped.length > 0) {
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  process.stderr.write(`complete-lock: dropped ${dropped.length} optional package(s) this registry does not serve from package-lock.json\n`);
}
