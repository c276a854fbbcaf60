import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { startHostProcess, type RunningHost } from './host-process'
import { typeInEditor } from './editors'
import { screenshot } from './screens'

// The tests build on each other: demo runs with injected faults append to the log, so this file runs its own browser
// host on its own demo shop rather than the suite's. The demo is generated first and the host started again on it,
// so the sagas follow the log from a fresh start (as after any restart of the app).
test.describe.configure({ mode: 'serial' })

let home = ''
let host: RunningHost | null = null
/** The instance of the payment-failure run, for the choreography test. */
let compensatedRun = ''

test.beforeAll(async ({ browser }) => {
  test.setTimeout(180_000)
  home = mkdtempSync(join(tmpdir(), 'esw-e2e-sagas-'))
  const suiteHome = process.env.ESW_HOME
  process.env.ESW_HOME = join(home, 'home')
  try {
    const first = await startHostProcess(['--demo-events', '3000'])
    const page = await browser.newPage()
    await page.goto(`${first.url}#/sagas`)
    // The generated log has finished instances of the demo saga once the generation is done.
    await expect(page.getByTestId('status-filter-completed').getByTestId('status-count')).not.toHaveText('0', { timeout: 120_000 })
    await page.close()
    await first.stop()
    host = await startHostProcess([])
  } finally {
    process.env.ESW_HOME = suiteHome
  }
})
test.afterAll(async () => {
  await host?.stop()
  if (home) rmSync(home, { recursive: true, force: true })
})

async function open(page: Page, hash: string) {
  await page.goto(`${host!.url}${hash}`)
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
}

const node = (page: Page, id: string) => page.getByTestId(`saga-node-${id}`)

async function both(page: Page, name: string) {
  await screenshot(page, name)
  await page.emulateMedia({ colorScheme: 'dark' })
  await screenshot(page, `${name}-dark`)
  await page.emulateMedia({ colorScheme: 'light' })
}

/** Starts a demo run with the fault form as it is set, and waits for its instance to be shown. */
async function startRun(page: Page): Promise<string> {
  const last = page.getByTestId('demo-run-last')
  const before = (await last.count()) ? await last.textContent() : ''
  await page.getByTestId('demo-run-start').click()
  await expect(last).toBeVisible()
  await expect(last).not.toHaveText(before ?? '')
  const orderId = /order (demo-run-\S+?)(?: with|\.)/.exec((await page.getByTestId('demo-run-last').textContent()) ?? '')![1]
  await expect(page.getByTestId('instance-id')).toHaveText(orderId)
  return orderId
}

test('the demo saga as a flow graph: steps in a row, compensations in a lane under them, the point of no return marked', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, '#/sagas')
  await expect(page.getByTestId('saga-title')).toHaveText('order_fulfilment')
  const graph = page.getByTestId('saga-graph')
  await expect(graph.locator('.flow-graph')).toHaveAttribute('data-laid-out', 'true')
  for (const id of ['start', 'step:reserve-stock', 'step:charge-payment', 'step:create-shipment', 'end:completed', 'undo:reserve-stock', 'undo:charge-payment', 'end:compensated', 'end:parked']) {
    await expect(node(page, id)).toBeVisible()
  }
  // create-shipment is the point of no return and has nothing to undo.
  await expect(node(page, 'step:create-shipment').getByTestId('point-of-no-return')).toBeVisible()
  await expect(node(page, 'undo:create-shipment')).toHaveCount(0)
  await expect(node(page, 'step:charge-payment')).toContainText('PaymentDeclined')
  await expect(graph.locator('.vue-flow__edge')).toHaveCount(11)

  // Laid out as lanes: the steps left to right on one row, each compensation under its step.
  const box = async (id: string) => (await node(page, id).boundingBox())!
  const [reserve, charge, ship, undoCharge] = await Promise.all(['step:reserve-stock', 'step:charge-payment', 'step:create-shipment', 'undo:charge-payment'].map(box))
  expect(charge.x).toBeGreaterThan(reserve.x + reserve.width)
  expect(ship.x).toBeGreaterThan(charge.x + charge.width)
  expect(Math.abs(charge.y - reserve.y)).toBeLessThan(2)
  expect(undoCharge.y).toBeGreaterThan(charge.y + charge.height)
  expect(Math.abs(undoCharge.x - charge.x)).toBeLessThan(2)

  // The generated log's instances, with their counts per status; a filter narrows the list.
  await expect(page.getByTestId('status-filter-completed').getByTestId('status-count')).not.toHaveText('0')
  await page.getByTestId('status-filter-completed').click()
  const rows = page.getByTestId('saga-instances').locator('[data-testid^="saga-instance-"]')
  await expect(rows.and(page.locator('[data-status="completed"]')).first()).toBeVisible()
  await expect(rows.and(page.locator(':not([data-status="completed"])'))).toHaveCount(0)
  await page.getByTestId('status-filter-all').click()
  await both(page, 'sagas-definition')
  expect(errors).toEqual([])
})

test('a payment failure injected into a new demo run: the instance turns compensated on the graph and in its timeline', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, '#/sagas')
  // The form starts with charge-payment rejected, for every attempt (the step has a retry).
  await expect(page.getByTestId('fault-step')).toHaveValue('charge-payment')
  await expect(page.getByTestId('fault-kind')).toHaveValue('reject')
  await expect(page.getByTestId('fault-every-attempt')).toBeChecked()
  const compensatedBefore = Number(await page.getByTestId('status-filter-compensated').getByTestId('status-count').textContent())

  const orderId = await startRun(page)
  compensatedRun = orderId
  // The first attempt is rejected at once; the retry waits for its backoff on the engine clock.
  await expect(node(page, 'step:reserve-stock')).toHaveAttribute('data-state', 'completed')
  await expect(node(page, 'step:charge-payment')).toHaveAttribute('data-state', 'failed')
  await expect(page.getByTestId('instance-status')).toHaveText('running')
  const advance = page.getByTestId('advance-past-deadline')
  await expect(advance).toContainText('past the retry of charge-payment')
  await expect(page.locator('[data-testid="timeline-SagaStepFailed"]')).toContainText('charge-payment rejected')
  await screenshot(page, 'sagas-payment-rejected-retry-waiting')

  // The retry is rejected too: the stock is released, and the instance is compensated.
  await advance.click()
  await expect(page.getByTestId('instance-status')).toHaveText('compensated')
  await expect(node(page, 'step:reserve-stock')).toHaveAttribute('data-state', 'compensated')
  await expect(node(page, 'undo:reserve-stock')).toHaveAttribute('data-state', 'compensated')
  await expect(node(page, 'step:charge-payment')).toHaveAttribute('data-state', 'failed')
  await expect(node(page, 'step:create-shipment')).toHaveAttribute('data-state', 'pending')
  await expect(node(page, 'end:compensated')).toHaveAttribute('data-state', 'reached')
  await expect(page.getByTestId(`saga-instance-${orderId}`)).toHaveAttribute('data-status', 'compensated')
  await expect(page.getByTestId('status-filter-compensated').getByTestId('status-count')).toHaveText(String(compensatedBefore + 1))

  const timeline = page.getByTestId('saga-timeline')
  await expect(timeline.getByTestId('timeline-SagaStepFailed')).toHaveCount(2)
  await expect(timeline.getByTestId('timeline-SagaStepCompensated')).toContainText('reserve-stock compensated')
  await expect(timeline.getByTestId('timeline-SagaAborted')).toContainText('Compensated')
  // Each command links to the events it produced: the release of the reserved stock.
  const release = timeline.getByTestId('timeline-SagaCompensationSent')
  await expect(release.getByTestId('timeline-command').first()).toContainText('inventory.ReleaseStock')
  await expect(release.getByTestId('timeline-produced').first()).toContainText('StockReleased')
  await page.getByTestId('saga-timeline').evaluate((el) => el.scrollIntoView({ block: 'start' }))
  await page.getByTestId('saga-graph').evaluate((el) => el.scrollIntoView({ block: 'start' }))
  await both(page, 'sagas-payment-compensated')

  // The link opens the event in the Streams panel.
  const link = release.getByTestId('timeline-produced').first()
  const position = /#(\d+)/.exec((await link.textContent()) ?? '')![1]
  await link.click()
  await expect(page.getByTestId('stream-title')).toHaveText(/^inventory-/)
  await expect(page.getByTestId(`event-row-${position}`)).toHaveClass(/active/)
  await expect(page.getByTestId('detail-type')).toHaveText('StockReleased')
  expect(errors).toEqual([])
})

test('a timeout: the step never answers until the engine clock is moved past its deadline (and its retry’s)', async ({ page }) => {
  await open(page, '#/sagas')
  await page.getByTestId('fault-kind').selectOption('timeout')
  const orderId = await startRun(page)
  await expect(node(page, 'step:charge-payment')).toHaveAttribute('data-state', 'sent')
  await expect(node(page, 'step:charge-payment')).toHaveAttribute('data-current', 'true')
  const advance = page.getByTestId('advance-past-deadline')
  await expect(advance).toContainText('past the deadline of charge-payment')
  await screenshot(page, 'sagas-timeout-waiting')

  // Deadline, retry backoff, the retry's deadline: three moves of the clock and it is compensated.
  for (const waitingFor of ['deadline', 'retry', 'deadline']) {
    await expect(advance).toContainText(`past the ${waitingFor} of charge-payment`)
    await advance.click()
  }
  await expect(page.getByTestId('instance-status')).toHaveText('compensated')
  await expect(page.getByTestId('saga-timeline').getByTestId('timeline-SagaStepFailed').first()).toContainText('charge-payment timed out')
  await expect(page.getByTestId('instance-reason')).toContainText('no answer within 900 s')
  await expect(page.getByTestId(`saga-instance-${orderId}`)).toHaveAttribute('data-status', 'compensated')
  await expect(node(page, 'end:compensated')).toHaveAttribute('data-state', 'reached')
  await screenshot(page, 'sagas-timeout-compensated')
  await page.getByTestId('fault-kind').selectOption('reject')
})

test('branch and inject: a PaymentDeclined, then a new order, on a scratch copy of the log; the real log is untouched', async ({ page }) => {
  await open(page, '#/sagas')
  // An instance that waits for its payment: only the first attempt is not answered, and the clock is not moved.
  await page.getByTestId('fault-kind').selectOption('timeout')
  await page.getByTestId('fault-every-attempt').uncheck()
  const orderId = await startRun(page)
  await expect(node(page, 'step:charge-payment')).toHaveAttribute('data-state', 'sent')
  // The timeline has caught up with the graph (it is read after the instance event) before it is counted.
  await expect(page.getByTestId('saga-timeline')).toContainText('charge-payment sent')
  const timelineLength = await page.getByTestId('saga-timeline').locator('li.entry').count()

  await page.getByTestId('branch-from-instance').click()
  const dialog = page.getByTestId('branch-dialog')
  await expect(page.getByTestId('branch-stream')).toHaveValue(`payment-${orderId}`)
  await expect(page.getByTestId('branch-type')).toHaveValue('PaymentDeclined')
  await expect(page.getByTestId('branch-position')).toHaveAttribute('placeholder', /^\d+$/)
  const head = Number(await page.getByTestId('branch-position').getAttribute('placeholder'))
  await screenshot(page, 'sagas-branch-form')
  await page.getByTestId('branch-start').click()

  const untouched = `head at ${head.toLocaleString('en')} before, ${head.toLocaleString('en')} after — untouched`
  await expect(page.getByTestId('branch-report')).toBeVisible({ timeout: 60_000 })
  await expect(page.getByTestId('branch-injected')).toHaveText(`PaymentDeclined appended to payment-${orderId}`)
  await expect(page.getByTestId('branch-appended')).toContainText(`PaymentDeclined in payment-${orderId}`)
  await expect(page.getByTestId('branch-untouched')).toContainText(untouched)

  // Another injection on a fresh branch: an order to a country the shipping refuses starts an instance there,
  // which is compensated on the branch.
  await page.getByTestId('branch-again').click()
  const branchOrder = `branch-${orderId}`
  await page.getByTestId('branch-stream').fill(`order-${branchOrder}`)
  await page.getByTestId('branch-type').fill('OrderPlaced')
  await page
    .getByTestId('branch-data')
    .fill(JSON.stringify({ orderId: branchOrder, cartId: `cart-${branchOrder}`, customerId: 'cust-00001', country: 'US', lines: [{ sku: 'beans-kenya-250g', quantity: 1, priceCents: 1150 }], totalCents: 1150 }))
  await page.getByTestId('branch-correlation').fill(`corr-${branchOrder}`)
  await page.getByTestId('branch-start').click()
  await expect(page.getByTestId('branch-report')).toBeVisible({ timeout: 60_000 })
  const change = page.getByTestId(`branch-change-${branchOrder}`)
  await expect(change.getByTestId('change-before')).toHaveText('not started')
  await expect(change.getByTestId('change-after')).toHaveText('compensated')
  await expect(page.getByTestId('branch-appended')).toContainText('SagaAborted')
  await expect(page.getByTestId('branch-untouched')).toContainText(untouched)
  await screenshot(page, 'sagas-branch-report')
  await page.emulateMedia({ colorScheme: 'dark' })
  await screenshot(page, 'sagas-branch-report-dark')
  await page.emulateMedia({ colorScheme: 'light' })
  await page.getByTestId('branch-close').click()
  await expect(dialog).toHaveCount(0)

  // In the workspace the instance still waits for its payment, its saga stream as it was; the branch's order is not there.
  await expect(page.getByTestId('instance-status')).toHaveText('running')
  await expect(node(page, 'step:charge-payment')).toHaveAttribute('data-state', 'sent')
  await expect(page.getByTestId('saga-timeline').locator('li.entry')).toHaveCount(timelineLength)
  await expect(page.getByTestId(`saga-instance-${branchOrder}`)).toHaveCount(0)
  await page.getByTestId('fault-kind').selectOption('reject')
  await page.getByTestId('fault-every-attempt').check()
})

test('choreography: an instance’s correlation id followed across streams, which events caused which', async ({ page }) => {
  expect(compensatedRun).not.toBe('')
  await open(page, `#/sagas?saga=order_fulfilment&instance=saga-order_fulfilment-${compensatedRun}`)
  await expect(page.getByTestId('instance-id')).toHaveText(compensatedRun)
  await page.getByTestId('follow-correlation').click()
  await expect(page).toHaveURL(/tab=choreography/)
  const graph = page.getByTestId('choreography-graph')
  await expect(graph).toHaveAttribute('data-laid-out', 'true')
  for (const type of ['OrderPlaced', 'SagaStarted', 'StockReserved', 'StockReleased', 'SagaAborted']) {
    await expect(graph.locator(`[data-type="${type}"]`).first()).toBeVisible()
  }
  await expect(page.getByTestId('choreography-facts')).toContainText(/\d+ events in \d+ streams/)
  // The command between a saga step and what it produced is named on the arrow.
  await expect(graph.locator('.vue-flow__edge-text').filter({ hasText: 'inventory.ReserveStock' }).first()).toBeVisible()
  // The order placed caused the saga to start: the first event sits above the rest.
  const placed = (await graph.locator('[data-type="OrderPlaced"]').boundingBox())!
  const released = (await graph.locator('[data-type="StockReleased"]').first().boundingBox())!
  expect(released.y).toBeGreaterThan(placed.y)
  await both(page, 'sagas-choreography')

  await graph.locator('[data-type="StockReleased"]').first().click()
  await expect(page.getByTestId('choreography-event')).toContainText('StockReleased')
  await page.getByTestId('choreography-event-link').click()
  await expect(page.getByTestId('detail-type')).toHaveText('StockReleased')
})

test('a saga whose correlate throws: the event is skipped for it, the coordinator says why, and the log is followed on', async ({ page }) => {
  const file = join(home, 'home', 'workspaces', 'demo', 'sagas', 'order-fulfilment.ts')
  const original = readFileSync(file, 'utf8')
  const correlate = 'correlate: (event) => (event.data as { orderId?: string }).orderId,'
  const description = "description: 'Reserve stock → charge payment → ship; compensated by refund and release.',"
  expect(original).toContain(correlate)
  expect(original).toContain(description)
  // Edited outside the app: the workspace picks the file up (the new description shows when it has).
  writeFileSync(
    file,
    original
      .replace(correlate, "correlate: (event) => {\n    if ((event.data as { country?: string }).country === 'BE') throw new Error('no fulfilment to BE yet')\n    return (event.data as { orderId?: string }).orderId\n  },")
      .replace(description, "description: 'Reserve stock → charge payment → ship; not to BE yet.',")
  )
  try {
    await open(page, '#/sagas')
    await expect(page.getByTestId('panel-sagas')).toContainText('not to BE yet')
    await page.getByTestId('nav-streams').click()
    await page.getByTestId('tool-append').click()
    await page.getByTestId('append-stream').fill('order-e2e-be')
    await page.getByTestId('append-type').fill('OrderPlaced')
    await typeInEditor(page, 'append-data', '{"orderId": "e2e-be", "customerId": "ann", "country": "BE", "lines": [], "totalCents": 0')
    await page.keyboard.insertText('}')
    await page.getByTestId('append-send').click()
    await page.getByTestId('nav-sagas').click()
    const errors = page.getByTestId('saga-coordinator-errors')
    await expect(errors).toContainText('saga order_fulfilment skipped OrderPlaced at position')
    await expect(errors).toContainText('no fulfilment to BE yet')
    // Another order, with no fault, still runs through the saga.
    const faults = page.getByTestId('fault-row')
    while ((await faults.count()) > 0) await faults.first().getByRole('button', { name: 'Remove this fault' }).click()
    await startRun(page)
    await expect(page.getByTestId('instance-status')).toHaveText('completed')
    await expect(page.getByTestId('saga-timeline')).toContainText('Completed')
    await screenshot(page, 'sagas-coordinator-error')
  } finally {
    writeFileSync(file, original)
  }
})
