import { randomUUID } from 'node:crypto'
import { expect, test, type Page } from '@playwright/test'
import { typeInEditor } from './editors'
import { appUrl, screenshot } from './screens'

// The tests build on each other: the conflict needs the stream the first test appended to.
test.describe.configure({ mode: 'serial' })

// Names are unique per run, so the test does not depend on what the workspace already holds.
const run = randomUUID().slice(0, 8)
const streamId = `order-e2e${run}`
const correlationId = `corr-${run}`

async function openStreams(page: Page) {
  await page.goto(appUrl('#/streams'))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
  await expect(page.getByTestId('all-events')).toBeVisible()
  await expect(page.getByTestId('live-indicator')).toBeVisible()
}

async function appendEvent(page: Page, type: string, data: string, metadata: string) {
  await page.getByTestId('tool-append').click()
  await page.getByTestId('append-stream').fill(streamId)
  await page.getByTestId('append-type').fill(type)
  await typeInEditor(page, 'append-data', data)
  await typeInEditor(page, 'append-metadata', metadata)
  await expect(page.getByTestId('append-send')).toBeEnabled()
  await page.getByTestId('append-send').click()
}

test('an appended event shows in the live $all tail, in its stream and in the detail', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await openStreams(page)
  await screenshot(page, 'streams-empty-or-existing')

  await page.getByTestId('tool-append').click()
  await page.getByTestId('append-stream').fill(streamId)
  await page.getByTestId('append-type').fill('OrderPlaced')
  await typeInEditor(page, 'append-data', '{"total": 42, "lines": [')
  await expect(page.getByTestId('append-data-error')).toBeVisible()
  await expect(page.getByTestId('append-send')).toBeDisabled()
  await screenshot(page, 'streams-append-parse-error')

  await appendEvent(page, 'OrderPlaced', '{"total": 42}', `{"correlationId": "${correlationId}"}`)
  await expect(page.getByTestId('append-result')).toContainText(`${streamId}`)
  await expect(page.getByTestId('append-result')).toContainText('now at version 1')

  const tailRow = page.getByTestId('all-events').locator(`[data-stream="${streamId}"]`)
  await expect(tailRow).toHaveCount(1)
  await expect(tailRow).toContainText('OrderPlaced')
  await screenshot(page, 'streams-all-live-tail')

  await page.getByTestId(`stream-row-${streamId}`).click()
  await expect(page.getByTestId('stream-title')).toHaveText(streamId)
  await expect(page.getByTestId('stream-version')).toHaveText('version 1')
  await page.getByTestId('stream-events').locator('[data-type="OrderPlaced"]').click()
  await expect(page.getByTestId('detail-type')).toHaveText('OrderPlaced')
  await expect(page.getByTestId('detail-version')).toHaveText('1')
  await expect(page.getByTestId('detail-recorded')).toHaveText(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  await expect(page.getByTestId('detail-data')).toContainText('"total": 42')
  const causeId = (await page.getByTestId('detail-id').textContent())?.trim() ?? ''
  await screenshot(page, 'streams-stream-and-detail')

  // A second event caused by the first: the stream page reloads live, and the links lead back.
  await appendEvent(page, 'OrderShipped', '{"carrier": "post"}', `{"correlationId": "${correlationId}", "causationId": "${causeId}"}`)
  await expect(page.getByTestId('append-result')).toContainText('now at version 2')
  await expect(page.getByTestId('stream-version')).toHaveText('version 2')
  await page.getByTestId('stream-events').locator('[data-type="OrderShipped"]').click()
  await expect(page.getByTestId('detail-type')).toHaveText('OrderShipped')
  await page.getByTestId('detail-correlation').click()
  await expect(page.getByTestId('correlated-events').locator('li')).toHaveCount(2)
  await page.getByTestId('detail-causation').click()
  await expect(page.getByTestId('detail-type')).toHaveText('OrderPlaced')
  await expect(page.getByTestId('detail-id')).toHaveText(causeId)
  await screenshot(page, 'streams-causation')
  await page.getByTestId('detail-back').click()
  await expect(page.getByTestId('detail-type')).toHaveText('OrderShipped')

  await page.getByTestId('newest-first').uncheck()
  await expect(page.getByTestId('stream-events').locator('button[data-type]').first()).toHaveAttribute('data-type', 'OrderPlaced')
  expect(errors).toEqual([])
})

test('appending with a stale expected version shows the conflict', async ({ page }) => {
  await openStreams(page)
  await page.getByTestId('tool-append').click()
  await page.getByTestId('append-expected-kind').selectOption('exact')
  await page.getByTestId('append-expected-number').fill('0')
  await appendEvent(page, 'OrderPlaced', '{"total": 1}', '{}')
  const conflict = page.getByTestId('append-conflict')
  await expect(conflict).toBeVisible()
  await expect(conflict).toContainText(streamId)
  await expect(conflict).toContainText('expected at version 0')
  await expect(conflict).toContainText('is at version 2')
  await screenshot(page, 'streams-conflict')
})

test('an export with a filter runs to the end with a progress bar', async ({ page }) => {
  await openStreams(page)
  await page.getByTestId('tool-export').click()
  await page.getByTestId('export-stream').fill(streamId)
  await page.getByTestId('export-types').fill('OrderPlaced, OrderShipped')
  await page.getByTestId('export-start').click()
  const job = page.getByTestId('job-export')
  await expect(job).toBeVisible()
  await expect(job).toHaveAttribute('data-state', 'succeeded')
  await expect(job.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100')
  await expect(page.getByTestId('export-result')).toContainText('Exported 2 events')
  await expect(page.getByTestId('export-file')).toHaveText(/\.ndjson$/)
  await expect(page.getByTestId('export-download')).toHaveAttribute('href', /\/exports\//)
  await screenshot(page, 'streams-export')
})

test('an export as read writes the events through the upcasters, at their newest version', async ({ page }) => {
  await openStreams(page)
  await page.getByTestId('tool-export').click()
  await page.getByTestId('export-stream').fill('cart-1')
  await page.getByTestId('export-types').fill('ItemAdded')
  const exported = async () => {
    await page.getByTestId('export-start').click()
    await expect(page.getByTestId('job-export')).toHaveAttribute('data-state', 'succeeded')
    const href = (await page.getByTestId('export-download').getAttribute('href')) ?? ''
    const text = await (await page.request.get(new URL(href, page.url()).toString())).text()
    return text.trimEnd().split('\n').map((line) => JSON.parse(line) as { schemaVersion: number; data: Record<string, unknown> })
  }
  // As stored: the cart's first items were added with the price as units (version 1).
  const stored = await exported()
  expect(stored.length).toBeGreaterThan(0)
  expect(stored[0]).toMatchObject({ schemaVersion: 1, data: { price: expect.any(String) } })
  await page.getByTestId('export-as-read').check()
  const read = await exported()
  expect(read.length).toBe(stored.length)
  expect(read.every((e) => e.schemaVersion === 2 && typeof e.data.priceCents === 'number' && !('price' in e.data))).toBe(true)
  await expect(page.getByTestId('export-file')).toHaveText(/-as-read\.ndjson$/)
  await screenshot(page, 'streams-export-as-read')
})

test('an import reports the line it could not read, and imports a good file', async ({ page }) => {
  await openStreams(page)
  await page.getByTestId('tool-import').click()
  const line = (version: number) =>
    JSON.stringify({ position: version, streamId: `imported-e2e${run}`, version, type: 'Imported', id: randomUUID(), data: { n: version }, metadata: null, recordedAt: '2025-01-01T00:00:00.000Z' })

  await page.getByTestId('import-file').setInputFiles({ name: 'bad.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(`${line(1)}\n{"oops"\n`) })
  await page.getByTestId('import-start').click()
  await expect(page.getByTestId('import-error')).toContainText('Line 2')
  await screenshot(page, 'streams-import-error')

  await page.getByTestId('import-file').setInputFiles({ name: 'good.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(`${line(1)}\n${line(2)}\n`) })
  await page.getByTestId('import-start').click()
  await expect(page.getByTestId('job-import')).toHaveAttribute('data-state', 'succeeded')
  await expect(page.getByTestId('import-result')).toContainText('Imported 2 events into 1 stream')
  await expect(page.getByTestId(`stream-row-imported-e2e${run}`)).toBeVisible()
  await screenshot(page, 'streams-import')
})
