import { readFileSync } from 'node:fs'
import { expect, test, type Page } from '@playwright/test'
import { appUrl, screenshot } from './screens'

// The tests build on each other: the second opens from the Streams panel the order the first one replayed.
test.describe.configure({ mode: 'serial' })

let streamId = ''
let streamVersion = 0

async function open(page: Page, hash: string) {
  await page.goto(appUrl(hash))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
}

const row = (page: Page, path: Array<string | number>) => page.getByTestId(`tree-${JSON.stringify(path)}`)

test('an order is replayed: scrubbed, its state and diff seen, a field followed to its event, and a fixture exported', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, '#/replay')
  await expect(page.getByTestId('replay-chooser')).toBeVisible()

  // The demo's orders: pick one that was placed, paid and shipped (three events or more).
  await page.getByTestId('replay-chooser-category').selectOption('order')
  await expect(page.getByTestId('replay-chooser').locator('.facts').first()).toHaveText(/^\d+ of [\d,]+ streams$/)
  await expect(page.locator('[data-testid^="replay-choose-"]').first()).toHaveAttribute('data-testid', /^replay-choose-order-/)
  const entries = page.locator('[data-testid^="replay-choose-order-"]')
  const counts = await entries.evaluateAll((els) => els.map((e) => ({ id: e.getAttribute('data-testid')!.slice('replay-choose-'.length), events: Number(e.getAttribute('data-events')) })))
  const order = counts.find((c) => c.events >= 3)
  expect(order, 'a demo order with three events or more').toBeTruthy()
  streamId = order!.id
  streamVersion = order!.events
  await screenshot(page, 'replay-chooser')
  await page.getByTestId(`replay-choose-${streamId}`).click()

  // It opens at its last event, replayed by the orders decider.
  await expect(page).toHaveURL(new RegExp(`#/replay\\?stream=${streamId}&version=${streamVersion}$`))
  await expect(page.getByTestId('replay-stream-title')).toHaveText(streamId)
  await expect(page.getByTestId('replay-decider')).toHaveValue('orders')
  await expect(page.getByTestId('replay-position')).toHaveText(`version ${streamVersion} of ${streamVersion}`)
  await expect(page.getByTestId(`replay-step-${streamVersion}`)).toHaveAttribute('data-current', 'true')
  await expect(page.getByTestId('replay-snapshot')).toContainText('folded')
  await expect(row(page, ['status'])).toBeVisible()
  await screenshot(page, 'replay-opened')

  // Scrub to the middle: the order is paid there; the event changed its status, and the tree shows it.
  const middle = Math.ceil(streamVersion / 2)
  await page.getByTestId('replay-scrubber').fill(String(middle))
  await expect(page.getByTestId('replay-position')).toHaveText(`version ${middle} of ${streamVersion}`)
  await expect(page.getByTestId(`replay-step-${middle}`)).toHaveAttribute('data-current', 'true')
  await expect(page).toHaveURL(new RegExp(`version=${middle}$`))
  const type = (await page.getByTestId('replay-event-type').textContent()) ?? ''
  await expect(page.getByTestId('replay-state-title')).toContainText(`#${middle}`)
  await expect(page.getByTestId('replay-changes').locator('li').first()).toBeVisible()
  const status = row(page, ['status'])
  await expect(status).toHaveAttribute('data-change', 'changed')
  await status.hover()
  await expect(status.getByTestId('tree-before')).toBeVisible()
  await expect(status).toHaveAttribute('title', /^was "/)
  await expect(page.getByTestId('tree-blame')).toContainText(`set by #${middle} ${type} at `)
  await screenshot(page, 'replay-scrubbed-middle')

  // The arrow keys step through the events.
  await page.getByTestId('replay-event').click()
  await page.keyboard.press('ArrowRight')
  await expect(page.getByTestId('replay-position')).toHaveText(`version ${middle + 1} of ${streamVersion}`)
  await page.keyboard.press('ArrowLeft')
  await expect(page.getByTestId('replay-position')).toHaveText(`version ${middle} of ${streamVersion}`)

  // The diff of the state before and after the scrubbed event.
  await page.getByTestId('replay-tab-compare').click()
  await expect(page.getByTestId('replay-compare-a')).toHaveValue(String(middle - 1))
  await expect(page.getByTestId('replay-compare-b')).toHaveValue(String(middle))
  await expect(page.getByTestId('replay-compare-right')).toContainText(`version ${middle} · after #${middle} ${type}`)
  const diff = page.getByTestId('monaco-diff')
  await expect(diff.locator('.editor.original .view-lines')).toContainText('"status"')
  await expect(diff.locator('.editor.modified .view-lines')).toContainText('"totalCents"')
  await expect(diff.locator('.line-insert, .char-insert').first()).toBeVisible()
  await screenshot(page, 'replay-compare')

  // Back at the last event: the total was set when the order was placed; a click on it goes to that event.
  await page.getByTestId('replay-tab-state').click()
  await page.getByTestId('replay-last').click()
  const total = row(page, ['totalCents'])
  await total.hover()
  await expect(page.getByTestId('tree-blame')).toContainText('set by #1 OrderPlaced at ')
  await expect(total).toHaveAttribute('title', /set by #1 OrderPlaced at \d{4}-/)
  await screenshot(page, 'replay-blame-hover')
  await total.click()
  await expect(page.getByTestId('replay-position')).toHaveText(`version 1 of ${streamVersion}`)
  await expect(page.getByTestId('replay-step-1')).toHaveAttribute('data-current', 'true')
  await expect(row(page, ['totalCents'])).toHaveAttribute('data-change', 'changed')
  await screenshot(page, 'replay-blame-jumped')

  // Jump to the global position of the second event, then to a time before the first.
  const position = Number(await page.getByTestId('replay-step-2').getAttribute('title').then((t) => /position (\d+)/.exec(t ?? '')?.[1]))
  await page.getByTestId('replay-jump-kind').selectOption('position')
  await page.getByTestId('replay-jump-input').fill(String(position))
  await page.getByTestId('replay-jump-go').click()
  await expect(page.getByTestId('replay-position')).toHaveText(`version 2 of ${streamVersion}`)
  await expect(page.getByTestId('replay-jump-result')).toContainText(`Stopped at version 2, after #2`)
  await page.getByTestId('replay-jump-kind').selectOption('time')
  await page.getByTestId('replay-jump-input').fill('2000-01-01T00:00:00Z')
  await page.getByTestId('replay-jump-go').click()
  await expect(page.getByTestId('replay-position')).toHaveText(`version 0 of ${streamVersion}`)
  await expect(page.getByTestId('replay-state-title')).toContainText('Initial state')
  await screenshot(page, 'replay-jumped-to-time')

  // Export a fixture around the second event: given the first, then the second.
  await page.getByTestId('replay-next').click()
  await page.getByTestId('replay-next').click()
  await page.getByTestId('replay-tab-fixture').click()
  await expect(page.getByTestId('replay-fixture-given')).toHaveValue('1')
  await expect(page.getByTestId('replay-fixture-then')).toHaveValue('2')
  await page.getByTestId('replay-fixture-export').click()
  await expect(page.getByTestId('replay-fixture-name')).toHaveText(/\.spec\.ts$/)
  await expect(page.getByTestId('replay-fixture-ts').locator('.view-lines')).toContainText('import')
  await expect(page.getByTestId('replay-fixture-ts').locator('.squiggly-error')).toHaveCount(0)
  await expect(page.getByTestId('replay-fixture-json').locator('.view-lines')).toContainText(`"streamId": "${streamId}"`)
  const download = page.waitForEvent('download')
  await page.getByTestId('replay-fixture-download-ts').click()
  const file = await download
  expect(file.suggestedFilename()).toMatch(/\.spec\.ts$/)
  const typescript = readFileSync(await file.path(), 'utf8')
  expect(typescript).toContain('spec(given).when(when).then(then)')
  expect(typescript).toContain(`"streamId": "${streamId}"`)
  await page.getByTestId('replay-fixture-copy-json').click()
  await expect(page.getByTestId('replay-fixture-notice')).toHaveText('Copied the JSON to the clipboard')
  const copied = JSON.parse(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())) as { given: unknown[]; when: unknown[] }
  expect([copied.given.length, copied.when.length]).toEqual([1, 1])
  await screenshot(page, 'replay-fixture')

  // The orders decider folds the same states twice.
  await page.getByTestId('replay-check-determinism').click()
  await expect(page.getByTestId('replay-deterministic')).toContainText(`Deterministic over ${streamVersion} events`)
  await screenshot(page, 'replay-deterministic')
  expect(errors).toEqual([])
})

test('the Streams panel opens a stream in the Replay panel', async ({ page }) => {
  expect(streamId, 'the first test found an order').not.toBe('')
  await open(page, `#/streams?stream=${streamId}`)
  await expect(page.getByTestId('stream-title')).toHaveText(streamId)
  await expect(page.getByTestId('replay-stream')).toBeVisible()
  await screenshot(page, 'replay-streams-link')
  await page.getByTestId('replay-stream').click()
  await expect(page).toHaveURL(new RegExp(`#/replay\\?stream=${streamId}&version=${streamVersion}$`))
  await expect(page.getByTestId('replay-stream-title')).toHaveText(streamId)
  await expect(page.getByTestId(`replay-step-${streamVersion}`)).toHaveAttribute('data-current', 'true')
  await expect(row(page, ['status'])).toBeVisible()
  await screenshot(page, 'replay-from-streams')

  // A link can name the version, and the search box opens another stream.
  await open(page, `#/replay?stream=${streamId}&version=1`)
  await expect(page.getByTestId('replay-position')).toHaveText(`version 1 of ${streamVersion}`)
  await page.getByTestId('replay-stream-search').fill('order-')
  await expect(page.getByTestId('replay-stream-searching')).toHaveCount(0)
  await expect(page.locator('[data-testid^="replay-stream-option-"]').first()).toHaveAttribute('data-testid', /^replay-stream-option-order-/)
  const option = page.locator('[data-testid^="replay-stream-option-order-"]').filter({ hasNotText: streamId }).first()
  await expect(option).toBeVisible()
  await screenshot(page, 'replay-search')
  const other = ((await option.getAttribute('data-testid')) ?? '').slice('replay-stream-option-'.length)
  await option.click()
  await expect(page.getByTestId('replay-stream-title')).toHaveText(other)
  await expect(page).toHaveURL(new RegExp(`#/replay\\?stream=${other}&version=\\d+$`))
})

test('a cart’s lines show in the tree: an added line green, a removed one struck through', async ({ page }) => {
  // A cart that had an item removed, found with the Streams panel's filters.
  await open(page, '#/streams')
  const count = page.getByTestId('stream-count')
  await expect(count).toHaveText(/^\d+ of [\d,]+$/)
  const all = await count.textContent()
  await page.getByTestId('stream-filter-category').selectOption('cart')
  await expect(count).not.toHaveText(all ?? '')
  await expect(count).toHaveText(/^\d+ of [\d,]+$/)
  const carts = await count.textContent()
  await page.getByTestId('stream-filter-type').selectOption('ItemRemoved')
  await expect(count).not.toHaveText(carts ?? '')
  await expect(count).toHaveText(/^\d+ of [\d,]+$/)
  const cart = ((await page.locator('[data-testid^="stream-row-"]').first().getAttribute('data-testid')) ?? '').slice('stream-row-'.length)
  expect(cart).toMatch(/^cart-/)

  await open(page, `#/replay?stream=${cart}&version=0`)
  await expect(page.getByTestId('replay-decider')).toHaveValue('carts')
  await expect(page.getByTestId('replay-position')).toHaveText(/version 0 of [1-9]\d*/)
  const last = Number(/of (\d+)/.exec((await page.getByTestId('replay-position').textContent()) ?? '')?.[1])

  // Step forward to the first line added, then to the line removed.
  let added = false
  for (let v = 1; v <= last && !added; v++) {
    await page.getByTestId('replay-next').click()
    await expect(page.getByTestId('replay-position')).toHaveText(`version ${v} of ${last}`)
    added = (await page.getByTestId('replay-event-type').textContent()) === 'ItemAdded'
  }
  expect(added).toBe(true)
  await expect(page.locator('[data-change="added"]').first()).toBeVisible()
  await expect(row(page, ['lines'])).toBeVisible()
  await screenshot(page, 'replay-cart-line-added')

  const removedStep = page.locator('[data-testid^="replay-step-"]').filter({ hasText: 'ItemRemoved' }).first()
  await removedStep.click()
  await expect(page.getByTestId('replay-event-type')).toHaveText('ItemRemoved')
  await expect(page.getByTestId('replay-changes').locator('li').first()).toBeVisible()
  await expect(page.locator('[data-change="removed"]').first()).toBeVisible()
  await screenshot(page, 'replay-cart-line-removed')

  // Folding a container away hides its lines; unfolding shows them again.
  await row(page, ['lines']).click()
  await expect(page.locator('[data-testid^="tree-[\\"lines\\","]')).toHaveCount(0)
  await row(page, ['lines']).click()
  await expect(page.locator('[data-testid^="tree-[\\"lines\\","]').first()).toBeVisible()
})
