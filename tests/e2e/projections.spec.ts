import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { pasteCode, saveCode } from './editors'
import { appUrl, screenshot } from './screens'

// The tests build on each other and share the suite's demo workspace: edited files go back to what they were.
test.describe.configure({ mode: 'serial' })

const run = randomUUID().slice(0, 8)
const demo = ['customer_history', 'inventory_levels', 'order_summary', 'revenue_per_day']
const workspaceFile = (path: string) => join(process.env.ESW_E2E_WORKSPACE ?? '', path)
const originals = new Map<string, string>()
const created: string[] = []

function keep(path: string): string {
  if (!originals.has(path)) originals.set(path, readFileSync(workspaceFile(path), 'utf8'))
  return originals.get(path)!
}

test.afterAll(() => {
  for (const [path, text] of originals) writeFileSync(workspaceFile(path), text)
  for (const path of created) if (existsSync(workspaceFile(path))) rmSync(workspaceFile(path))
})

async function open(page: Page, hash: string) {
  await page.goto(appUrl(hash))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
}

async function openTable(page: Page, projection: string, table: string) {
  await page.getByTestId(`rm-table-${projection}-${table}`).click()
  await expect(page.getByTestId('rm-title')).toHaveText(`${projection}.${table}`)
  await expect(page.getByTestId('grid-row-0')).toHaveAttribute('data-key', /.+/)
}

/** Waits for a projection to be caught up (a batch that meets a reload of the code is started over, not faulted). */
async function caughtUp(page: Page, name: string) {
  const row = page.getByTestId(`projection-${name}`)
  await expect(row).toHaveAttribute('data-state', 'caught-up', { timeout: 30_000 })
}

/** The text of a cell: the row's cells are the event link, then the table's columns in order. */
async function cellOf(page: Page, index: number, column: string): Promise<string> {
  const names = await page.locator('[data-testid^="grid-sort-"], [data-testid^="grid-head-"]').evaluateAll((els) => els.map((e) => e.textContent?.replace(/[▲▼⇅]/g, '').trim() ?? ''))
  const at = names.indexOf(column)
  expect(at, `column ${column} among ${names.join(', ')}`).toBeGreaterThanOrEqual(0)
  return (await page.getByTestId(`grid-row-${index}`).locator('.value').nth(at).textContent()) ?? ''
}

test('the four demo projections catch up, with their position, lag and throughput, and their tables show in the grid', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, '#/projections')
  for (const name of demo) {
    await caughtUp(page, name)
    await expect(page.getByTestId(`projection-lag-${name}`)).toContainText('0 ev')
  }
  const position = await page.getByTestId('projection-position-order_summary').textContent()
  expect(position).toMatch(/^[\d,]+ \/ [\d,]+$/)
  const [at, head] = (position ?? '').split('/').map((n) => Number(n.replace(/[^\d]/g, '')))
  expect(at).toBe(head)
  expect(head).toBeGreaterThanOrEqual(3000)
  // The live chart samples once a second.
  await expect(page.getByTestId('projection-order_summary').getByTestId('sparkline')).toHaveAttribute('data-samples', /^([3-9]|\d\d)$/)
  await screenshot(page, 'projections-caught-up')

  // Pause, resume and rebuild: the state follows, and the projection ends up caught up again.
  await page.getByTestId('projection-pause-revenue_per_day').click()
  await expect(page.getByTestId('projection-revenue_per_day')).toHaveAttribute('data-state', 'paused')
  await expect(page.getByTestId('projection-resume-revenue_per_day')).toBeVisible()
  await screenshot(page, 'projections-paused')
  await page.getByTestId('projection-resume-revenue_per_day').click()
  await expect(page.getByTestId('projection-revenue_per_day')).toHaveAttribute('data-state', 'caught-up')
  await page.getByTestId('projection-rebuild-revenue_per_day').click()
  await expect(page.getByTestId('projection-revenue_per_day')).toHaveAttribute('data-state', 'caught-up', { timeout: 30_000 })
  await expect(page.getByTestId('projection-action-error-revenue_per_day')).toHaveCount(0)

  await page.getByTestId('projection-select-order_summary').click()
  await expect(page.getByTestId('projection-detail-order_summary')).toBeVisible()
  await expect(page.getByTestId('code-path')).toHaveText('projections/order-summary.ts')
  await page.getByTestId('check-run-determinism').click()
  await expect(page.getByTestId('check-passed-determinism')).toContainText('Deterministic over')
  await page.getByTestId('check-run-idempotency').click()
  await expect(page.getByTestId('check-determinism').or(page.getByTestId('check-idempotency')).last()).toBeVisible()
  await expect(page.getByTestId('check-passed-idempotency').or(page.getByTestId('check-failed-idempotency'))).toBeVisible()
  await screenshot(page, 'projections-detail-checks')

  await page.getByTestId('projection-table-orders').getByRole('link').click()
  await expect(page).toHaveURL(/#\/read-models\?projection=order_summary&table=orders/)
  await expect(page.getByTestId('rm-title')).toHaveText('order_summary.orders')
  await expect(page.getByTestId('grid-row-0')).toHaveAttribute('data-key', /.+/)
  await expect(page.getByTestId('grid-lag')).toHaveText(/^Up to date with the log: position [\d,]+ of head [\d,]+$/)
  await expect(page.getByTestId('grid-sortable')).toContainText('orderId, customerId, status, placedAt')
  await expect(page.getByTestId('grid-head-country')).toBeVisible()
  // A time column keeps its number, and its tooltip reads it as a time.
  const names = await page.locator('[data-testid^="grid-sort-"], [data-testid^="grid-head-"]').evaluateAll((els) => els.map((e) => e.textContent?.replace(/[▲▼⇅]/g, '').trim() ?? ''))
  const placedAt = page.getByTestId('grid-row-0').locator('.value').nth(names.indexOf('placedAt'))
  await expect(placedAt).toHaveText(/^\d{13}$/)
  await expect(placedAt).toHaveAttribute('title', /^\d{13} = 20\d\d-\d\d-\d\dT[\d:.]+Z$/)
  await screenshot(page, 'read-models-orders')

  // Sort by an index, filter by a column, follow a row to its event.
  await page.getByTestId('grid-sort-placedAt').click()
  await expect(page.getByTestId('read-model-grid')).toContainText('sorted by placedAt ▲')
  await page.getByTestId('grid-sort-placedAt').click()
  await expect(page.getByTestId('read-model-grid')).toContainText('sorted by placedAt ▼')
  const newest = Number(await cellOf(page, 0, 'placedAt'))
  const next = Number(await cellOf(page, 1, 'placedAt'))
  expect(newest).toBeGreaterThanOrEqual(next)
  await page.getByTestId('grid-filter-status').fill('shipped')
  await expect(page.getByTestId('grid-clear-filters')).toBeVisible()
  await expect.poll(() => cellOf(page, 0, 'status')).toBe('shipped')
  await expect(page.getByTestId('grid-position')).toHaveText(/^Rows 1–\d+ of ~[\d,]+$/)
  await screenshot(page, 'read-models-sorted-filtered')
  const link = page.getByTestId('grid-row-0').getByTestId('grid-row-event')
  const target = await link.getAttribute('href')
  expect(target).toMatch(/#\/streams\?stream=order-[^&]+&event=\d+$/)
  await link.click()
  await expect(page.getByTestId('panel-streams')).toBeVisible()
  const stream = decodeURIComponent(/stream=([^&]+)/.exec(target ?? '')![1])
  await expect(page.getByTestId('stream-title')).toHaveText(stream)

  // A named query, its form made from its schema, and the lag of its answer.
  await open(page, '#/read-models?projection=order_summary&table=orders&tab=queries')
  await page.getByTestId('query-byStatus').click()
  await page.getByTestId('field-status').selectOption({ label: 'shipped' })
  await page.getByTestId('query-run').click()
  await expect(page.getByTestId('query-lag')).toHaveText(/(Up to date with the log|behind the log): position [\d,]+ of head [\d,]+/)
  await expect(page.getByTestId('query-row').first()).toBeVisible()
  await expect(page.getByTestId('query-count')).toHaveText(/^\d+ rows?( so far)?$/)
  await screenshot(page, 'read-models-query')
  expect(errors).toEqual([])
})

test('an edited projection is saved, run into shadow tables, its diff shown and promoted, and the grid shows the new rows', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const path = 'projections/order-summary.ts'
  const original = keep(path)
  const before = 'lines: d.lines.length,'
  expect(original).toContain(before)

  await open(page, '#/read-models?projection=order_summary&table=orders')
  await expect(page.getByTestId('grid-row-0')).toHaveAttribute('data-key', /.+/)
  const firstOrder = (await page.getByTestId('grid-row-0').getAttribute('data-key')) ?? ''
  const linesBefore = Number(await cellOf(page, 0, 'lines'))
  expect(linesBefore).toBeLessThan(100)

  await open(page, '#/projections')
  await page.getByTestId(`code-file-${path}`).click()
  await expect(page.getByTestId('code-path')).toHaveText(path)
  await expect(page.getByTestId('projection-detail-order_summary')).toBeVisible()
  const edited = original.replace(before, 'lines: d.lines.length + 100,')
  await pasteCode(page, edited)
  await saveCode(page)
  expect(readFileSync(workspaceFile(path), 'utf8')).toBe(edited)

  // Saving starts a shadow run; when it is ready, the diff shows every order changed in its lines column.
  const pane = page.getByTestId('shadow-pane')
  await expect(pane).toHaveAttribute('data-phase', 'ready', { timeout: 30_000 })
  await expect(page.getByTestId('shadow-diff')).toBeVisible()
  await expect(page.getByTestId('shadow-counts-orders')).toHaveText(/^\+0 −0 ~[1-9][\d,]* =0$/)
  const change = page.getByTestId('shadow-changed-row').first().locator('[data-column="lines"]')
  await expect(change).toHaveText(/^lines: (\d+) → (\d+)$/)
  const [, was, now] = /lines: (\d+) → (\d+)/.exec((await change.textContent()) ?? '')!
  expect(Number(now)).toBe(Number(was) + 100)
  await expect(page.getByTestId('shadow-strip')).toContainText('~')
  await page.getByTestId('shadow-pane').scrollIntoViewIfNeeded()
  await screenshot(page, 'projections-shadow-diff')

  await page.getByTestId('shadow-promote').click()
  await expect(page.getByTestId('shadow-promoted')).toBeVisible()
  await expect(pane).toHaveAttribute('data-phase', 'none')
  await expect(page.getByTestId('projection-order_summary')).toHaveAttribute('data-state', 'caught-up')
  await screenshot(page, 'projections-promoted')

  // The read model is the new code's now.
  await page.getByTestId('shadow-promoted').getByRole('link').click()
  await expect(page.getByTestId('rm-title')).toHaveText('order_summary.orders')
  await expect(page.getByTestId('grid-row-0')).toHaveAttribute('data-key', firstOrder)
  await expect.poll(() => cellOf(page, 0, 'lines')).toBe(String(linesBefore + 100))
  await screenshot(page, 'read-models-after-promote')
  expect(errors).toEqual([])
})

test('a projection file changed on disk starts a shadow run, as a save in the app does', async ({ page }) => {
  const path = 'projections/revenue-per-day.ts'
  const original = keep(path)
  await open(page, '#/projections')
  await caughtUp(page, 'revenue_per_day')
  // Another editor changes the file (a comment: the same rows).
  writeFileSync(workspaceFile(path), `${original}\n// Changed in another editor.\n`)
  await expect(page.getByTestId('projection-detail-revenue_per_day')).toBeVisible({ timeout: 30_000 })
  const pane = page.getByTestId('shadow-pane')
  await expect(pane).toHaveAttribute('data-phase', 'ready', { timeout: 30_000 })
  await expect(page.getByTestId('shadow-counts-days')).toHaveText(/^\+0 −0 ~0 =[1-9]/)
  await pane.scrollIntoViewIfNeeded()
  await screenshot(page, 'projections-disk-edit-shadow')
  await page.getByTestId('shadow-discard').click()
  await expect(pane).toHaveAttribute('data-phase', 'none')
  writeFileSync(workspaceFile(path), original)
})

test('a projection of every event makes a large table that the grid scrolls to its end', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const name = `every_event_${run}`
  const path = `projections/every-event-${run}.ts`
  created.push(path)
  const types = [
    'CartOpened', 'ItemAdded', 'ItemRemoved', 'CartCheckedOut', 'OrderPlaced', 'OrderPaid', 'OrderShipped', 'OrderCancelled', 'PaymentCharged', 'PaymentDeclined',
    'PaymentRefunded', 'ShipmentCreated', 'ShipmentDelivered', 'StockReceived', 'StockReserved', 'StockReleased', 'StockDispatched',
    // The demo's latest orders went through the order_fulfilment saga: its instances' streams end the log.
    'SagaStarted', 'SagaStepSent', 'SagaStepCompleted', 'SagaStepFailed', 'SagaCompensationSent', 'SagaStepCompensated', 'SagaCompleted', 'SagaAborted', 'SagaParked'
  ]
  const source = `import { defineProjection } from 'workbench'

// One row per event of the log: a large table to scroll.
const types = ${JSON.stringify(types)}
const write = (event: { position: number; type: string; streamId: string; recordedAt: number }, ctx: any) =>
  ctx.upsert('events', { position: event.position, type: event.type, streamId: event.streamId, recordedAt: event.recordedAt })

export default defineProjection({
  name: '${name}',
  from: 'all',
  tables: {
    events: {
      columns: { position: 'integer', type: 'text', streamId: 'text', recordedAt: 'integer' },
      key: ['position'],
      indexes: [['type'], ['streamId']]
    }
  },
  handlers: Object.fromEntries(types.map((t) => [t, write]))
})
`
  await open(page, '#/projections')
  await page.getByTestId('code-new').click()
  await page.getByTestId('code-new-name').fill(`every-event-${run}`)
  await page.getByTestId('code-new-create').click()
  await expect(page.getByTestId('code-path')).toHaveText(path)
  // A new projection file starts from a template that loads and runs as it is.
  await expect(page.getByTestId(`projection-${name}`)).toHaveAttribute('data-state', 'caught-up', { timeout: 30_000 })
  await pasteCode(page, source)
  await saveCode(page)
  expect(readFileSync(workspaceFile(path), 'utf8')).toBe(source)
  // The live projection had run the template to the head: the new code's table fills in the shadow run, then goes live.
  await expect(page.getByTestId('shadow-pane')).toHaveAttribute('data-phase', 'ready', { timeout: 30_000 })
  await expect(page.getByTestId('shadow-counts-events')).toHaveText(/^\+[\d,]{5,} −0 ~0 =0$/)
  await screenshot(page, 'projections-every-event-shadow')
  await page.getByTestId('shadow-promote').click()
  await expect(page.getByTestId('shadow-pane')).toHaveAttribute('data-phase', 'none')
  await expect(page.getByTestId(`projection-${name}`)).toHaveAttribute('data-state', 'caught-up')
  await screenshot(page, 'projections-every-event')

  await page.getByTestId('nav-read-models').click()
  await openTable(page, name, 'events')
  const lag = (await page.getByTestId('grid-lag').textContent()) ?? ''
  const head = Number(/of head ([\d,]+)/.exec(lag)![1].replace(/,/g, ''))
  const total = Number(/~([\d,]+)/.exec((await page.getByTestId('grid-position').textContent()) ?? '')![1].replace(/,/g, ''))
  expect(total).toBeGreaterThanOrEqual(3000)
  expect(total).toBeLessThanOrEqual(head)
  await expect(page.getByTestId('grid-row-0')).toHaveAttribute('data-key', '1')
  await screenshot(page, 'read-models-large-top')

  // Scroll down page by page (keyset: each page after the last row read) until the last row shows.
  const grid = page.getByTestId('read-model-grid')
  const scroller = page.getByTestId('grid-scroller')
  const last = page.getByTestId(`grid-row-${total - 1}`)
  for (let i = 0; i < 60 && Number(await grid.getAttribute('data-rows')) < total; i++) {
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
    await page.waitForTimeout(150)
    const held = Number(await grid.getAttribute('data-held'))
    expect(held).toBeLessThanOrEqual(2400)
  }
  await expect(grid).toHaveAttribute('data-rows', String(total))
  await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
  await expect(last).toBeInViewport()
  await expect(last).toHaveAttribute('data-key', String(head))
  await expect(page.getByTestId('grid-position')).toHaveText(new RegExp(`^Rows [\\d,]+–${total.toLocaleString('en')} of ~${total.toLocaleString('en')}$`))
  await screenshot(page, 'read-models-large-end')

  // Back to the top: the first pages were dropped while scrolling, and are read again.
  await scroller.evaluate((el) => el.scrollTo({ top: 0 }))
  await expect(page.getByTestId('grid-row-0')).toHaveAttribute('data-key', '1')
  expect(errors).toEqual([])
})

test('a handler that throws faults its projection at the event, with the source line; retry after the fix', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const path = 'projections/inventory-levels.ts'
  const original = keep(path)
  const handler = '    StockReserved(event, ctx) {\n'
  expect(original).toContain(handler)
  const broken = original.replace(handler, `${handler}      if ((event.data as Movement).quantity > 0) throw new Error('Boom: reserved stock went missing')\n`)
  const throwLine = broken.split('\n').findIndex((l) => l.includes('Boom: reserved stock')) + 1

  await open(page, '#/projections')
  await page.getByTestId(`code-file-${path}`).click()
  await expect(page.getByTestId('code-path')).toHaveText(path)
  await pasteCode(page, broken)
  await saveCode(page)
  expect(readFileSync(workspaceFile(path), 'utf8')).toBe(broken)
  // The shadow run of the new code stops at the first reserved stock; discard it, and run the live projection from zero.
  await expect(page.getByTestId('shadow-pane')).toHaveAttribute('data-phase', 'ready', { timeout: 30_000 })
  await expect(page.getByTestId('shadow-where')).toContainText('has not seen the last')
  await screenshot(page, 'projections-broken-shadow')
  await page.getByTestId('shadow-discard').click()
  await page.getByTestId('projection-reset-inventory_levels').click()
  await page.getByTestId('projection-reset-confirm-inventory_levels').click()

  const row = page.getByTestId('projection-inventory_levels')
  await expect(row).toHaveAttribute('data-state', 'faulted', { timeout: 30_000 })
  await expect(page.getByTestId('projection-fault-line-inventory_levels')).toContainText('StockReserved')
  const fault = page.getByTestId('projection-fault')
  await expect(fault).toBeVisible()
  await expect(page.getByTestId('fault-message')).toContainText('Boom: reserved stock went missing')
  await expect(page.getByTestId('fault-event')).toHaveText(/^#[\d,]+ StockReserved in \S+$/)
  await expect(page.getByTestId('fault-source')).toHaveText(new RegExp(`^${path}:${throwLine}(:\\d+)?$`))
  // The other projections go on.
  await expect(page.getByTestId('projection-order_summary')).toHaveAttribute('data-state', 'caught-up')
  await fault.scrollIntoViewIfNeeded()
  await screenshot(page, 'projections-faulted')

  // The source link shows the line in the editor; the event link opens it in the Streams panel.
  await page.getByTestId('fault-source').click()
  await expect(page).toHaveURL(new RegExp(`file=${encodeURIComponent(path).replace(/%2F/g, '(/|%2F)')}&line=${throwLine}`))
  await expect(page.getByTestId('code-editor').locator('.view-line').filter({ hasText: 'Boom: reserved stock went missing' })).toBeVisible()
  const eventLink = (await page.getByTestId('fault-event').getAttribute('href')) ?? ''
  const [, stream, position] = /stream=([^&]+)&event=(\d+)/.exec(eventLink)!
  await page.getByTestId('fault-event').click()
  await expect(page.getByTestId('stream-title')).toHaveText(decodeURIComponent(stream))
  await expect(page.getByTestId(`event-row-${position}`)).toHaveClass(/active/)
  await screenshot(page, 'projections-fault-event')

  // Fix the code, save, retry: the projection catches up.
  await open(page, '#/projections')
  await page.getByTestId(`code-file-${path}`).click()
  await pasteCode(page, original)
  await saveCode(page)
  await expect(page.getByTestId('projection-inventory_levels')).toHaveAttribute('data-state', 'faulted')
  await page.getByTestId('fault-retry').click()
  await expect(page.getByTestId('projection-inventory_levels')).toHaveAttribute('data-state', 'caught-up', { timeout: 30_000 })
  await expect(page.getByTestId('projection-fault')).toHaveCount(0)
  await expect(page.getByTestId('shadow-pane')).toHaveAttribute('data-phase', 'ready', { timeout: 30_000 })
  await page.getByTestId('shadow-discard').click()
  await screenshot(page, 'projections-retried')
  expect(errors).toEqual([])
})
