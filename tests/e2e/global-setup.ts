import { assertChromium } from './chromium'
import { startHostProcess } from './host-process'

// Starts one browser host for the suite; tests read its URL (with the per-launch token) from ESW_URL.
export default async function globalSetup() {
  assertChromium()
  const host = await startHostProcess()
  process.env.ESW_URL = host.url
  return async () => {
    await host.stop()
  }
}
