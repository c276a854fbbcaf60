import { existsSync } from 'node:fs'

/** Debian's Chromium, launched with the flags this machine needs (no network beyond loopback). */
export const chromiumExecutable = process.env.ESW_CHROMIUM ?? '/usr/bin/chromium'

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export function assertChromium(): void {
  if (!existsSync(chromiumExecutable)) {
    throw new Error(`Chromium not found at ${chromiumExecutable}: install it with \`apt-get install -y chromium\` or set ESW_CHROMIUM`)
  }
}
