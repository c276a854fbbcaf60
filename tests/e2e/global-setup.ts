import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertChromium } from './chromium'
import { startHostProcess } from './host-process'

// Starts one browser host for the suite; tests read its URL (with the per-launch token) from ESW_URL.
export default async function globalSetup() {
  assertChromium()
  const home = mkdtempSync(join(tmpdir(), 'esw-e2e-'))
  // The host opens the demo shop, made in a throwaway home with a small log so the suite stays quick.
  process.env.ESW_HOME = join(home, 'home')
  const host = await startHostProcess(['--demo-events', '3000'])
  process.env.ESW_URL = host.url
  process.env.ESW_E2E_WORKSPACE = join(home, 'home', 'workspaces', 'demo')
  return async () => {
    await host.stop()
    rmSync(home, { recursive: true, force: true })
  }
}
