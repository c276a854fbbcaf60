import { join } from 'node:path'
import { _electron, expect, test } from '@playwright/test'
import { electron } from './electron-binary'

const root = join(__dirname, '..', '..')

test.skip(!electron.path, `Electron binary not installed: ${electron.reason ?? ''}`)

test('the desktop window opens with its title, connected over IPC', async () => {
  const app = await _electron.launch({ executablePath: electron.path!, args: [root], cwd: root })
  try {
    const window = await app.firstWindow()
    await expect(window).toHaveTitle('Event Workbench')
    await expect(window.getByTestId('connection-state')).toHaveText('● connected')
    const exposed = await window.evaluate(() => ({
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      bridge: Object.keys((window as unknown as { eswBridge: object }).eswBridge).sort()
    }))
    expect(exposed).toEqual({ require: 'undefined', process: 'undefined', bridge: ['onMessage', 'send'] })
    expect(await window.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined')
  } finally {
    await app.close()
  }
})
