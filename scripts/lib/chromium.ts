/**
 * Headless Chromium for the screenshot scripts: the browser of `ROSTER_CHROMIUM`, else Debian's
 * `/usr/bin/chromium`, started with a fresh profile and no background networking (the machines these
 * run on may have no outside network). `close()` also removes the profile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'roster-shot-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.ROSTER_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
