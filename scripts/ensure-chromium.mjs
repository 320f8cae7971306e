#!/usr/bin/env node
// Finds Debian's Chromium for the browser tests; installs it with apt-get where it is missing
// and apt-get is usable; otherwise says exactly what to install. Prints the path it found.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

export function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  return candidates.find((p) => existsSync(p)) ?? null;
}

export function ensureChromium() {
  let path = findChromium();
  if (path) return path;
  const canApt = (() => {
    try {
      execSync('command -v apt-get', { stdio: 'ignore' });
      return typeof process.getuid === 'function' && process.getuid() === 0;
    } catch {
      return false;
    }
  })();
  if (canApt) {
    console.log('Chromium not found: installing Debian\'s chromium package with apt-get …');
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' });
    path = findChromium();
    if (path) return path;
  }
  console.error(
    'The browser tests need Chromium, which was not found.\n' +
      '  On Debian/Ubuntu run (as root):  apt-get update && apt-get install -y chromium\n' +
      '  Or set CHROMIUM_PATH to a Chromium executable.',
  );
  process.exit(2);
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureChromium());
