import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { typeInEditor } from '../e2e/editors'
import { electron } from './electron-binary'
import { clickMenu, demoReady, launchApp, showPanel, stubDialogs, type RunningApp } from './launch'

// The journeys of the browser suite, in the desktop window: one app on its own demo shop, the tests in order.
test.skip(!electron.path, `ELECTRON SUITE NOT RUN: ${electron.reason ?? ''}`)
test.describe.configure({ mode: 'serial' })

const run = randomUUID().slice(0, 8)
let running: RunningApp

test.beforeAll(async () => {
  test.setTimeout(180_000)
  running = await launchApp()
  await demoReady(running.window)
})
test.afterAll(async () => {
  await running?.close()
})

const demoDir = () => join(running.home, 'workspaces', 'demo')
const go = async (hash: string) => {
  await showPanel(running.window, hash)
  await expect(running.window).toHaveURL(new RegExp(`${hash}$`))
}

test('the demo shop opens in the window, with its title, over IPC', async () => {
  const { window } = running
  await expect(window).toHaveTitle('Event Workbench')
  await go('#/workspace')
  await expect(window.getByTestId('workspace-name')).toContainText('Demo shop')
  await expect(window.getByTestId('workspace-path')).toHaveText(demoDir())
  await expect(window.getByTestId('workspace-trust')).toHaveText('trusted')
})

test('a stream is browsed: an appended event shows in the $all tail and in its stream', async () => {
  const { window } = running
  const streamId = `order-desktop${run}`
  await go('#/streams')
  await expect(window.getByTestId('all-events')).toBeVisible()
  await window.getByTestId('tool-append').click()
  await window.getByTestId('append-stream').fill(streamId)
  await window.getByTestId('append-type').fill('OrderPlaced')
  await typeInEditor(window, 'append-data', '{"total": 42}')
  await window.getByTestId('append-send').click()
  await expect(window.getByTestId('append-result')).toContainText('now at version 1')
  const row = window.getByTestId('all-events').locator(`[data-stream="${streamId}"]`)
  await expect(row).toHaveCount(1)
  await row.click()
  await expect(window.getByTestId('detail-type')).toHaveText('OrderPlaced')
})

test('a command is sent through a decider and its event appended', async () => {
  const { window } = running
  await go('#/commands')
  await window.getByTestId('command-payments-ChargePayment').click()
  await expect(window.getByTestId('command-title')).toHaveText('ChargePayment')
  await window.getByTestId('field-orderId').fill(`desktop${run}`)
  await window.getByTestId('field-customerId').fill('customer-desktop')
  await window.getByTestId('field-amountCents').fill('1999')
  await window.getByTestId('command-send').click()
  await expect(window.getByTestId('outcome-accepted')).toContainText(`payment-desktop${run}`)
  await expect(window.getByTestId('outcome-event-type')).toHaveText('PaymentCharged')
})

test('a projection is edited in the code panel, saved to disk, and keeps up with the log', async () => {
  const { window } = running
  const file = join(demoDir(), 'projections', 'order-summary.ts')
  const original = readFileSync(file, 'utf8')
  try {
    await go('#/projections')
    await expect(window.getByTestId('projection-order_summary')).toHaveAttribute('data-state', 'caught-up', { timeout: 60_000 })
    await window.getByTestId('code-file-projections/order-summary.ts').click()
    await expect(window.getByTestId('code-path')).toHaveText('projections/order-summary.ts')
    await expect(window.getByTestId('code-save-state')).toHaveText('Saved')
    await window.getByTestId('code-editor').locator('.monaco-editor').click()
    await window.keyboard.press('ControlOrMeta+End')
    await window.keyboard.type(`\n// edited in the desktop window ${run}\n`)
    await expect(window.getByTestId('code-save-state')).toHaveText('Unsaved changes')
    await window.keyboard.press('ControlOrMeta+S')
    await expect(window.getByTestId('code-save-state')).toHaveText('Saved')
    await expect.poll(() => readFileSync(file, 'utf8')).toContain(`edited in the desktop window ${run}`)
    await expect(window.getByTestId('projection-order_summary')).toHaveAttribute('data-state', 'caught-up', { timeout: 60_000 })
  } finally {
    writeFileSync(file, original)
  }
})

test('a saga run with an injected payment failure is compensated', async () => {
  const { window } = running
  await go('#/sagas')
  await expect(window.getByTestId('saga-title')).toHaveText('order_fulfilment')
  await expect(window.getByTestId('fault-step')).toHaveValue('charge-payment')
  await expect(window.getByTestId('fault-kind')).toHaveValue('reject')
  await window.getByTestId('demo-run-start').click()
  await expect(window.getByTestId('demo-run-last')).toBeVisible()
  const node = (id: string) => window.getByTestId(`saga-node-${id}`)
  await expect(node('step:charge-payment')).toHaveAttribute('data-state', 'failed')
  const advance = window.getByTestId('advance-past-deadline')
  await expect(advance).toContainText('past the retry of charge-payment')
  await advance.click()
  await expect(window.getByTestId('instance-status')).toHaveText('compensated')
  await expect(node('undo:reserve-stock')).toHaveAttribute('data-state', 'compensated')
})

test('File › Export Events… writes the log to the file chosen in the (stubbed) save dialog', async () => {
  const file = join(running.home, `export-${run}.ndjson`)
  await stubDialogs(running.app, { save: file, button: 0 })
  await clickMenu(running.app, 'file.export')
  await expect.poll(() => existsSync(file), { timeout: 60_000 }).toBe(true)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  expect(lines.length).toBeGreaterThanOrEqual(3000)
  expect(JSON.parse(lines[0])).toMatchObject({ position: 1 })
  expect(existsSync(`${file}.part`)).toBe(false)
  await expect(running.window).toHaveURL(/#\/workspace$/)
})
