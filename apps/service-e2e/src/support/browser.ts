import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it where missing). */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const haveChromium = (): boolean => existsSync(CHROMIUM);

/** Where the suites leave what a person may want to look at (screenshots). */
export const ARTIFACTS = join(workspaceRoot, 'dist', 'test-artifacts');

/** Headless chromium with a fresh profile, nothing fetched from the network on its own behalf. */
export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
