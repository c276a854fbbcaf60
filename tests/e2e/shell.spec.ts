import { expect, test } from '@playwright/test'
import { appUrl, screenshot } from './screens'

const panels = ['streams', 'commands', 'replay', 'projections', 'read-models', 'upcasters', 'sagas', 'workspace']

test('the shell connects and every panel shows', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(appUrl())
  await expect(page.getByTestId('connection-state')).toHaveText(/connected/)
  await expect(page.getByTestId('connection-state')).not.toHaveText(/disconnected/)
  for (const panel of panels) {
    await page.getByTestId(`nav-${panel}`).click()
    await expect(page).toHaveURL(new RegExp(`#/${panel}$`))
    await expect(page.getByTestId(`panel-${panel}`)).toBeVisible()
    await screenshot(page, `shell-${panel}`)
  }
  await expect(page.getByTestId('workspace-path')).toHaveText(process.env.ESW_E2E_WORKSPACE ?? '')
  expect(errors).toEqual([])
})

test('a Monaco editor shows a TypeScript diagnostic for what was typed', async ({ page }) => {
  await page.goto(appUrl('#/projections'))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
  const editor = page.getByTestId('monaco-editor').locator('.monaco-editor')
  await expect(editor).toBeVisible()
  await expect(page.getByTestId('problems')).toHaveText('No problems')
  await editor.click()
  await page.keyboard.press('ControlOrMeta+End')
  await page.keyboard.type("\nconst count: number = 'three'\n")
  await expect(page.getByTestId('problems')).toContainText("Type 'string' is not assignable to type 'number'")
  await expect(page.locator('.squiggly-error').first()).toBeVisible()
  await screenshot(page, 'monaco-diagnostic')
})

test('a page without the token cannot reach the engine', async ({ page }) => {
  const url = new URL(appUrl())
  const response = await page.goto(`${url.origin}/`)
  expect(response?.status()).toBe(401)
})
