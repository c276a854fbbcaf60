import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { _electron, expect, type ElectronApplication, type Page } from '@playwright/test'
import { electron } from './electron-binary'

export const root = join(__dirname, '..', '..')

export interface RunningApp {
  app: ElectronApplication
  window: Page
  /** The throwaway workbench home of this launch (trust, recent workspaces, window state, the demo shop). */
  home: string
  close(): Promise<void>
}

/** A fresh workbench home; the app also keeps its Electron profile (and so its instance lock) there. */
export function throwawayHome(): string {
  return mkdtempSync(join(tmpdir(), 'esw-electron-'))
}

/** The environment of a launch: its home, and better-sqlite3 built for Electron (prepared by the global setup). */
export function appEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  return { ...env, ESW_HOME: home, ELECTRON_ENABLE_LOGGING: '1' }
}

/** Starts the built app (out/main) on a small demo shop and waits for its window to be connected. */
export async function launchApp(options: { home?: string; args?: string[] } = {}): Promise<RunningApp> {
  const home = options.home ?? throwawayHome()
  const app = await _electron.launch({
    executablePath: electron.path!,
    args: [root, '--demo-events', '3000', ...(options.args ?? [])],
    cwd: root,
    env: appEnv(home)
  })
  const window = await app.firstWindow()
  await expect(window.getByTestId('connection-state')).toHaveText('● connected', { timeout: 30_000 })
  return {
    app,
    window,
    home,
    close: async () => {
      await app.close()
      if (!options.home) rmSync(home, { recursive: true, force: true })
    }
  }
}

/** The page's globals used in `evaluate` callbacks (the test project compiles without the DOM library). */
export type PageGlobals = {
  location: { hash: string; href: string }
  open(url: string): unknown
  fetch(url: string): Promise<{ headers: { get(name: string): string | null } }>
  Notification: { requestPermission(): Promise<string> }
} & Record<string, unknown>

/** Shows a panel, as the sidebar or the View menu does. */
export async function showPanel(window: Page, hash: string): Promise<void> {
  await window.evaluate((h) => ((globalThis as unknown as PageGlobals).location.hash = h), hash)
}

/** Clicks a menu item by its id, as a person would through the menu bar. */
export async function clickMenu(app: ElectronApplication, id: string): Promise<void> {
  await app.evaluate(({ Menu }, itemId) => {
    const item = Menu.getApplicationMenu()?.getMenuItemById(itemId)
    if (!item) throw new Error(`No menu item ${itemId}`)
    item.click()
  }, id)
}

/** Answers the next native dialogs: save and open dialogs with the given paths, message boxes with a button. */
export async function stubDialogs(app: ElectronApplication, answers: { save?: string; open?: string; button?: number }): Promise<void> {
  await app.evaluate(({ dialog }, a) => {
    const d = dialog as unknown as Record<string, unknown>
    if (a.save !== undefined) d.showSaveDialog = async () => ({ canceled: false, filePath: a.save })
    if (a.open !== undefined) d.showOpenDialog = async () => ({ canceled: false, filePaths: [a.open] })
    if (a.button !== undefined) d.showMessageBox = async () => ({ response: a.button, checkboxChecked: false })
  }, answers)
}

/** Waits until the demo shop's log has been generated (the Workspace panel shows its seeding job as done). */
export async function demoReady(window: Page): Promise<void> {
  await showPanel(window, '#/sagas')
  await expect(window.getByTestId('status-filter-completed').getByTestId('status-count')).not.toHaveText('0', { timeout: 120_000 })
}
