import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertChromium } from './chromium'
import { startHostProcess } from './host-process'

// Starts one browser host for the suite; tests read its URL (with the per-launch token) from ESW_URL.
export default async function globalSetup() {
  assertChromium()
  const home = mkdtempSync(join(tmpdir(), 'esw-e2e-'))
  process.env.ESW_HOME = join(home, 'home')
  const host = await startHostProcess(['--workspace', join(home, 'workspace')])
  process.env.ESW_URL = host.url
  process.env.ESW_E2E_WORKSPACE = join(home, 'workspace')
  return async () => {
    await host.stop()
    rmSync(home, { recursive: true, force: true })
  }
}
