import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { appUrl, screenshot } from './screens'

// The tests build on each other: the second sends to the payments decider the first one changed.
test.describe.configure({ mode: 'serial' })

const run = randomUUID().slice(0, 8)
const orderId = `e2e${run}`
const paymentsFile = () => join(process.env.ESW_E2E_WORKSPACE ?? '', 'domain', 'payments.ts')
let original = ''

// The demo workspace is shared by the suite: its payment limit goes back to what it was (the host sees the file change).
test.beforeAll(() => {
  original = readFileSync(paymentsFile(), 'utf8')
})
test.afterAll(() => {
  if (original) writeFileSync(paymentsFile(), original)
})

async function open(page: Page, hash: string) {
  await page.goto(appUrl(hash))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
}

async function chooseCommand(page: Page, decider: string, command: string) {
  await page.getByTestId(`command-${decider}-${command}`).click()
  await expect(page.getByTestId('command-title')).toHaveText(command)
}

test('a rule edited and saved in the code panel refuses the next command, and a valid one appends its events', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, '#/domain')
  await page.getByTestId('code-file-domain/payments.ts').click()
  await expect(page.getByTestId('code-path')).toHaveText('domain/payments.ts')
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')
  const editor = page.getByTestId('code-editor')
  const limitLine = editor.locator('.view-line').filter({ hasText: 'const LIMIT_CENTS = 200_000' })
  await expect(limitLine).toBeVisible()
  // A demo file type-checks against the workbench module: no squiggles, nothing listed.
  await expect(page.getByTestId('problems')).toHaveText('No problems')
  await expect(editor.locator('.squiggly-error')).toHaveCount(0)

  // Lower the limit from €2,000.00 to €50.00: select the number, type the new one, save with Ctrl/Cmd+S.
  await limitLine.locator('span', { hasText: /^200_000$/ }).dblclick()
  await page.keyboard.type('5_000')
  await expect(editor.locator('.view-line').filter({ hasText: 'const LIMIT_CENTS = 5_000' })).toBeVisible()
  await expect(page.getByTestId('code-save-state')).toHaveText('Unsaved changes')
  await screenshot(page, 'domain-unsaved-edit')
  await page.keyboard.press('ControlOrMeta+S')
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')
  await expect(page.getByTestId('problems')).toHaveText('No problems')
  expect(readFileSync(paymentsFile(), 'utf8')).toContain('const LIMIT_CENTS = 5_000')
  await screenshot(page, 'domain-saved')

  // €100.00 was fine a minute ago; the new rule refuses it.
  await page.getByTestId('nav-commands').click()
  await chooseCommand(page, 'payments', 'ChargePayment')
  await page.getByTestId('field-orderId').fill(orderId)
  await page.getByTestId('field-customerId').fill('customer-e2e')
  await page.getByTestId('field-amountCents').fill('10000')
  await page.getByTestId('command-send').click()
  const rejected = page.getByTestId('outcome-rejected')
  await expect(rejected).toBeVisible()
  await expect(page.getByTestId('outcome-rule')).toHaveText('PaymentLimit')
  await expect(page.getByTestId('outcome-message')).toContainText('above the €50.00 limit')
  await expect(page.getByTestId('history-entry').first()).toHaveAttribute('data-outcome', 'rejected')
  await screenshot(page, 'commands-rejected')

  // Under the limit: accepted, with the event it appended.
  await page.getByTestId('field-amountCents').fill('1999')
  await page.getByTestId('command-send').click()
  await expect(page.getByTestId('outcome-accepted')).toContainText(`payment-${orderId}`)
  const event = page.getByTestId('outcome-event')
  await expect(event).toHaveCount(1)
  await expect(page.getByTestId('outcome-event-type')).toHaveText('PaymentCharged')
  await expect(page.getByTestId('outcome-event-version')).toHaveText('1')
  await expect(event).toContainText('"amountCents": 1999')
  const history = page.getByTestId('history-entry')
  await expect(history.first()).toHaveAttribute('data-outcome', 'accepted')
  await expect(history.nth(1)).toHaveAttribute('data-outcome', 'rejected')
  await screenshot(page, 'commands-accepted')

  // The link opens the stream in the Streams panel, with the event in it.
  await page.getByTestId('outcome-stream-link').click()
  await expect(page).toHaveURL(new RegExp(`#/streams\\?stream=payment-${orderId}&event=\\d+$`))
  await expect(page.getByTestId('stream-title')).toHaveText(`payment-${orderId}`)
  await expect(page.getByTestId('stream-version')).toHaveText('version 1')
  await expect(page.getByTestId('stream-events').locator('[data-type="PaymentCharged"]')).toHaveCount(1)
  await expect(page.getByTestId('detail-type')).toHaveText('PaymentCharged')
  await expect(page.getByTestId('detail-data')).toContainText('"amountCents": 1999')
  await screenshot(page, 'commands-stream-link')
  expect(errors).toEqual([])
})

test('the form checks fields as they are typed, and shows the engine’s issues at the fields', async ({ page }) => {
  await open(page, '#/commands')
  await chooseCommand(page, 'orders', 'PlaceOrder')
  // A list that needs an item starts with one row.
  await expect(page.getByTestId('field-lines[0].sku')).toBeVisible()
  await page.getByTestId('field-country').fill('D')
  await expect(page.getByTestId('field-country-issue')).toHaveText('Exactly 2 characters')
  await page.getByTestId('field-lines[0].quantity').fill('1.5')
  await expect(page.getByTestId('field-lines[0].quantity-issue')).toHaveText('Must be a whole number')
  await expect(page.getByTestId('field-orderId-issue')).toHaveCount(0)
  await page.getByTestId('command-send').click()
  await expect(page.getByTestId('command-blocker')).toHaveText(/^Fix \d+ fields first$/)
  await expect(page.getByTestId('field-orderId-issue')).toHaveText('Must not be empty')
  await screenshot(page, 'commands-form-validation')

  // The JSON editor sends what it holds; the engine names each wrong field, and the form shows it there.
  await page.getByTestId('mode-json').click()
  const json = page.getByTestId('command-json').locator('.monaco-editor')
  await json.click()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(`{"orderId": "${orderId}", "cartId": "cart-1", "customerId": "c-1", "country": "DEU", "lines": []}`)
  await page.keyboard.press('Shift+ControlOrMeta+End')
  await page.keyboard.press('Delete')
  await expect(page.getByTestId('command-json-issues')).toContainText('country')
  await page.getByTestId('command-send').click()
  const error = page.getByTestId('outcome-error')
  await expect(error).toHaveAttribute('data-code', 'InvalidInput')
  await expect(page.getByTestId('outcome-issues')).toContainText('country')
  await expect(page.getByTestId('outcome-issues')).toContainText('lines')
  await screenshot(page, 'commands-invalid-json')
  await page.getByTestId('mode-form').click()
  await expect(page.getByTestId('field-country')).toHaveValue('DEU')
  await expect(page.getByTestId('field-country-issue')).toBeVisible()
  await expect(page.getByTestId('field-lines-issue')).toBeVisible()
  await expect(page.getByTestId('history-entry').first()).toHaveAttribute('data-outcome', 'invalid')
  await screenshot(page, 'commands-invalid-at-fields')
})
