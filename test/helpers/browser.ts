import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), or WXOPEN_TEST_CHROMIUM. */
export const CHROMIUM = process.env.WXOPEN_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Where the browser tests write the README's screenshots. */
export const DOCS = fileURLToPath(new URL('../../docs', import.meta.url));

/** Headless Chromium that never reaches beyond loopback on its own (no sync, updates or QUIC probes). */
export function launchChromium(): Promise<Browser> {
  mkdirSync(DOCS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
