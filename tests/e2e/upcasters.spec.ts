import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { pasteCode, saveCode } from './editors'
import { appUrl, screenshot } from './screens'

// The tests build on each other and share the suite's demo workspace: the upcaster file goes back to what it was,
// and the last test switches to a migrated workspace and back to the demo.
test.describe.configure({ mode: 'serial' })

const run = randomUUID().slice(0, 8)
const path = 'upcasters/item-added.ts'
const demoDir = process.env.ESW_E2E_WORKSPACE ?? ''
const workspaceFile = (file: string) => join(demoDir, file)
const migrated = `${demoDir}-migrated-${run}`
let original = ''
/** A cart with a stored ItemAdded v1 (found through a dry-run failure). */
let cart = ''
let failingPosition = ''

test.beforeAll(() => {
  original = readFileSync(workspaceFile(path), 'utf8')
})
test.afterAll(() => {
  if (original) writeFileSync(workspaceFile(path), original)
  rmSync(migrated, { recursive: true, force: true })
})

async function open(page: Page, hash: string) {
  await page.goto(appUrl(hash))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
}

/** Brings a part of the panel into view for a screenshot (the panel scrolls, not the page). */
async function scrollTo(page: Page, testId: string) {
  await page.getByTestId(testId).evaluate((el) => el.scrollIntoView({ block: 'start' }))
}

const upcastLine = (source: string) => source.split('\n').find((l) => l.trim().startsWith('upcast:'))!

test('the evolving ItemAdded shows both stored versions with their shapes, the drift chart and its upcaster', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, '#/upcasters')
  const itemAdded = page.getByTestId('event-type-ItemAdded')
  await expect(itemAdded).toHaveAttribute('data-evolving', 'true')
  await expect(itemAdded).toContainText('v1')
  await expect(itemAdded).toContainText('v2')
  await expect(page.getByTestId('event-type-CartOpened')).toHaveAttribute('data-evolving', 'false')
  await itemAdded.click()
  await expect(page).toHaveURL(/[?&]type=ItemAdded/)

  const detail = page.getByTestId('type-detail-ItemAdded')
  await expect(page.getByTestId('type-facts')).toContainText('2 schema versions in the log')
  const v1 = detail.getByTestId('schema-version-1')
  const v2 = detail.getByTestId('schema-version-2')
  await expect(v1.getByTestId('schema-count')).toHaveText(/^[\d,]+ events$/)
  await expect(v2.getByTestId('schema-count')).toHaveText(/^[\d,]+ events$/)
  await expect(v1.locator('[data-field="price"]')).toContainText('string')
  await expect(v1.locator('[data-field="price"]')).toContainText('"')
  await expect(v1.locator('[data-field="priceCents"]')).toHaveCount(0)
  await expect(v2.locator('[data-field="priceCents"]')).toContainText('integer')
  await expect(v2.locator('[data-field="price"]')).toHaveCount(0)

  // The drift chart: both versions, stacked per day, v1 giving way to v2.
  const chart = page.getByTestId('drift-chart')
  await expect(chart).toHaveAttribute('data-versions', '1,2')
  await expect(chart).toHaveAttribute('data-buckets', /^[1-9]\d*$/)
  await expect(chart.locator('canvas')).toBeVisible()
  await expect(chart).toHaveAttribute('aria-label', /v1: [\d,]+ from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d; v2: [\d,]+ from/)
  await expect(chart.locator('.u-legend')).toContainText('v1')

  // Its upcaster, and its file in the editor.
  const step = page.getByTestId('upcaster-step')
  await expect(step).toHaveCount(1)
  await expect(step).toContainText('v1 → v2')
  await expect(step).toContainText(path)
  await expect(page.getByTestId('code-path')).toHaveText(path)
  await screenshot(page, 'upcasters-item-added')

  // The shapes as the TypeScript the editor knows them as.
  await page.getByTestId('shape-mode-typescript').click()
  await expect(v1.getByTestId('shape-typescript')).toContainText('price: string')
  await expect(v2.getByTestId('shape-typescript')).toContainText('priceCents: number')
  await screenshot(page, 'upcasters-item-added-typescript')
  await page.getByTestId('shape-mode-fields').click()

  // The same in the dark theme: the chart's axes and colours follow it.
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect(chart.locator('canvas')).toBeVisible()
  await screenshot(page, 'upcasters-item-added-dark')
  await page.emulateMedia({ colorScheme: 'light' })

  // In the editor, upcast's data is the stored shape of ItemAdded v1: its fields complete.
  const probe = original.replace(upcastLine(original), '  upcast: (data) => ({ ...data, priceCents: data.pr }),')
  expect(probe).not.toBe(original)
  await pasteCode(page, probe)
  await expect(page.getByTestId('code-save-state')).toHaveText('Unsaved changes')
  const editor = page.getByTestId('code-editor')
  await editor.locator('.view-line').filter({ hasText: 'data.pr' }).click()
  await page.keyboard.press('End')
  for (let i = 0; i < ' }),'.length; i++) await page.keyboard.press('ArrowLeft')
  await page.keyboard.press('Control+Space')
  const suggestions = editor.locator('.suggest-widget .monaco-list-row')
  await expect(suggestions.filter({ hasText: /^price/ }).first()).toBeVisible()
  await expect(suggestions.filter({ hasText: /^priceCents/ })).toHaveCount(0)
  await screenshot(page, 'upcasters-completion')
  await page.keyboard.press('Escape')
  await pasteCode(page, original)
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')
  expect(errors).toEqual([])
})

test('a broken upcaster: saving starts a dry-run whose failures link to their events and line; fixed, the dry-run is clean', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const line = upcastLine(original)
  const broken = original.replace(
    line,
    [
      '  upcast: ({ price, ...rest }) => {',
      "    if (Number(price) > 20) throw new Error(`Boom: a price of ${price} is too high`)",
      '    return { ...rest, priceCents: Math.round(Number(price) * 100) }',
      '  }'
    ].join('\n')
  )
  const throwLine = broken.split('\n').findIndex((l) => l.includes('Boom: a price')) + 1
  expect(throwLine).toBeGreaterThan(0)

  await open(page, '#/upcasters?type=ItemAdded')
  await expect(page.getByTestId('code-path')).toHaveText(path)
  await pasteCode(page, broken)
  await saveCode(page)
  expect(readFileSync(workspaceFile(path), 'utf8')).toBe(broken)

  // The save started a dry-run; its report counts the failures and lists them.
  const dryRun = page.getByTestId('dry-run')
  await expect(page.getByTestId('dry-run-strip')).toBeVisible()
  await expect(dryRun).toHaveAttribute('data-phase', 'done', { timeout: 30_000 })
  await expect(dryRun).toHaveAttribute('data-ok', 'false')
  await expect(page.getByTestId('dry-run-not-ok')).toContainText('failed')
  const v1Counts = page.getByTestId('dry-run-count-ItemAdded-v1')
  await expect(v1Counts.locator('[data-column="failed"]')).not.toHaveText('0')
  await expect(v1Counts.locator('[data-column="transformed"]')).not.toHaveText('0')
  const failure = page.getByTestId('dry-run-failure').first()
  await expect(failure.getByTestId('failure-message')).toContainText('Boom: a price of')
  await expect(failure.getByTestId('failure-source')).toHaveText(new RegExp(`^${path}:${throwLine}(:\\d+)?$`))
  await expect(failure.getByTestId('failure-event')).toHaveText(/^#[\d,]+ ItemAdded v1 in cart-\S+$/)
  // The first failure is in the diff: the stored event, and the error in place of what it reads as.
  await expect(page.getByTestId('dry-run-diff-caption')).toContainText('Failure 1')
  const diff = dryRun.getByTestId('monaco-diff')
  await expect(diff).toBeVisible()
  await expect(diff.locator('.editor.original')).toContainText('"price"')
  await expect(diff.locator('.editor.modified')).toContainText('Boom: a price of')
  await expect(page.getByTestId('dry-run-strip')).toContainText('failed')
  await scrollTo(page, 'dry-run')
  await screenshot(page, 'upcasters-dry-run-failures')

  // The line link shows the throw in the editor; the event link opens the failing event in the Streams panel.
  await failure.getByTestId('failure-source').click()
  await expect(page).toHaveURL(new RegExp(`line=${throwLine}`))
  await expect(page.getByTestId('code-editor').locator('.view-line').filter({ hasText: 'Boom: a price of' })).toBeVisible()
  const link = (await failure.getByTestId('failure-event').getAttribute('href')) ?? ''
  const [, stream, position] = /stream=([^&]+)&event=(\d+)/.exec(link)!
  cart = decodeURIComponent(stream)
  failingPosition = position
  await failure.getByTestId('failure-event').click()
  await expect(page.getByTestId('stream-title')).toHaveText(cart)
  await expect(page.getByTestId(`event-row-${position}`)).toHaveClass(/active/)
  await expect(page.getByTestId('detail-type')).toHaveText('ItemAdded')
  await screenshot(page, 'upcasters-failure-event')

  // As read, the stream fails the way every reader of it would.
  await page.getByTestId('view-read').click()
  await expect(page.getByTestId('stream-events').getByRole('alert')).toContainText('Boom: a price of')
  await screenshot(page, 'streams-as-read-broken')
  await page.getByTestId('view-stored').click()

  // An upcaster that runs but makes the wrong shape: mismatches, with their reasons.
  await open(page, '#/upcasters?type=ItemAdded')
  const misshapen = original.replace(line, '  upcast: ({ price, ...rest }) => ({ ...rest, cents: Math.round(Number(price) * 100) }),')
  await pasteCode(page, misshapen)
  await saveCode(page)
  await expect(dryRun).toHaveAttribute('data-phase', 'done', { timeout: 30_000 })
  await expect(dryRun).toHaveAttribute('data-ok', 'false')
  await expect(page.getByTestId('dry-run-mismatched-count')).not.toHaveText(/^0 /)
  const mismatch = page.getByTestId('dry-run-mismatch').first()
  await expect(mismatch).toContainText('priceCents is missing')
  await expect(mismatch).toContainText('cents is not a field of ItemAdded v2')
  await expect(page.getByTestId('dry-run-diff-caption')).toContainText('Mismatch 1')
  await scrollTo(page, 'dry-run')
  await screenshot(page, 'upcasters-dry-run-mismatches')

  // Fixed in another editor: the change on disk starts a dry-run too; it is clean, and a sample shows what a v1
  // event reads as.
  const misshapenRun = await dryRun.getAttribute('data-job')
  writeFileSync(workspaceFile(path), original)
  await expect(dryRun).not.toHaveAttribute('data-job', misshapenRun ?? '', { timeout: 30_000 })
  await expect(page.getByTestId('code-editor').locator('.view-line').filter({ hasText: 'priceCents: Math.round' })).toBeVisible()
  await expect(dryRun).toHaveAttribute('data-phase', 'done', { timeout: 30_000 })
  await expect(dryRun).toHaveAttribute('data-ok', 'true')
  await expect(page.getByTestId('dry-run-ok')).toContainText('OK')
  await expect(page.getByTestId('dry-run-failure')).toHaveCount(0)
  await expect(page.getByTestId('dry-run-sample').first()).toContainText('ItemAdded v1 → v2')
  await expect(page.getByTestId('dry-run-diff-caption')).toContainText('Sample 1')
  await expect(dryRun.getByTestId('monaco-diff').locator('.editor.modified')).toContainText('priceCents')
  await expect(page.getByTestId('dry-run-strip')).toContainText('OK')
  await scrollTo(page, 'dry-run')
  await screenshot(page, 'upcasters-dry-run-ok')
  expect(errors).toEqual([])
})

test('a stream as read marks its upcast events, and the replay timeline says what evolve read', async ({ page }) => {
  expect(cart, 'a cart with an ItemAdded v1, from the dry-run test').not.toBe('')
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, `#/streams?stream=${encodeURIComponent(cart)}`)
  await expect(page.getByTestId('stream-title')).toHaveText(cart)
  const events = page.getByTestId('stream-events')
  await expect(page.getByTestId('view-stored')).toHaveAttribute('aria-pressed', 'true')
  await expect(events.locator('[data-type="ItemAdded"]').first()).toBeVisible()
  await expect(events.getByTestId('upcast-badge')).toHaveCount(0)

  await page.getByTestId('view-read').click()
  await expect(page.getByTestId('view-read')).toHaveAttribute('aria-pressed', 'true')
  const upcast = page.getByTestId(`event-row-${failingPosition}`)
  await expect(upcast.getByTestId('upcast-badge')).toHaveText('v1 → v2')
  await upcast.click()
  await expect(page.getByTestId('detail-upcast')).toHaveText('as read; stored as ItemAdded v1')
  await expect(page.getByTestId('detail-data')).toContainText('priceCents')
  await screenshot(page, 'streams-as-read')
  await page.getByTestId('view-stored').click()
  await expect(events.getByTestId('upcast-badge')).toHaveCount(0)

  await open(page, `#/replay?stream=${encodeURIComponent(cart)}`)
  await expect(page.getByTestId('replay-stream-title')).toHaveText(cart)
  const readAs = page.getByTestId('replay-read-as').first()
  await expect(readAs).toHaveText('read as v2')
  await expect(readAs).toHaveAttribute('title', /Stored as ItemAdded v1; evolve saw ItemAdded v2/)
  await screenshot(page, 'replay-read-as')
  expect(errors).toEqual([])
})

test('a second upcaster for the same version is refused: the type shows the problem, and so does the dry-run', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const name = `item-added-again-${run}`
  const file = `upcasters/${name}.ts`
  await open(page, '#/upcasters?type=ItemAdded')
  await page.getByTestId('code-new').click()
  await page.getByTestId('code-new-name').fill(name)
  await page.getByTestId('code-new-create').click()
  await expect(page.getByTestId('code-path')).toHaveText(file)
  await pasteCode(
    page,
    [
      "import { defineUpcaster } from 'workbench'",
      '',
      'export default defineUpcaster({',
      "  eventType: 'ItemAdded',",
      '  fromVersion: 1,',
      '  toVersion: 2,',
      '  upcast: ({ price, ...rest }) => ({ ...rest, priceCents: Number(price) * 100 })',
      '})',
      ''
    ].join('\n')
  )
  await saveCode(page)
  await expect(page.getByTestId('event-type-ItemAdded')).toContainText('✕')
  const problem = page.getByTestId('type-problem')
  await expect(problem).toContainText('Two upcasters for ItemAdded v1')
  await expect(problem).toContainText(file)
  await expect(page.getByTestId('dry-run')).toHaveAttribute('data-phase', 'done', { timeout: 30_000 })
  await expect(page.getByTestId('dry-run')).toHaveAttribute('data-ok', 'false')
  await expect(page.getByTestId('dry-run-problems')).toContainText('Two upcasters for ItemAdded v1')
  await page.getByTestId('panel-upcasters').evaluate((el) => el.parentElement?.scrollTo({ top: 0 }))
  await screenshot(page, 'upcasters-refused-chain')
  await scrollTo(page, 'dry-run')
  await screenshot(page, 'upcasters-refused-chain-dry-run')

  await page.getByTestId('code-delete').click()
  await page.getByTestId('code-delete-confirm').click()
  await expect(page.getByTestId(`code-file-${file}`)).toHaveCount(0)
  await expect(page.getByTestId('type-problem')).toHaveCount(0)
  await expect(page.getByTestId('event-type-ItemAdded')).not.toContainText('✕')
  expect(existsSync(workspaceFile(file))).toBe(false)
  // Deleting is no save: the dry-run is run by hand, and is clean again.
  await page.getByTestId('dry-run-start').click()
  await expect(page.getByTestId('dry-run')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 })
  expect(errors).toEqual([])
})

test('the migration wizard plans, runs with progress, verifies, and switches to the migrated workspace', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  // The suites before this one appended events the demo's projections fault on (on the old store and the new alike,
  // which fails verification): migrate the demo's log as the generator makes it.
  await open(page, '#/workspace')
  const seed = page.getByTestId('job-seed')
  await expect(seed).toHaveAttribute('data-state', 'succeeded')
  const seeded = await seed.getAttribute('data-job-id')
  await page.getByTestId('reset-demo').click()
  await page.getByTestId('reset-demo-confirm').click()
  await expect(seed).not.toHaveAttribute('data-job-id', seeded ?? '')
  await expect(seed).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 })

  await open(page, '#/upcasters?type=ItemAdded')
  await expect(page.getByTestId('schema-version-1')).toBeVisible()
  await page.getByTestId('migrate-open').click()
  const wizard = page.getByTestId('migration-wizard')
  await expect(wizard).toHaveAttribute('data-step', 'plan')
  await expect(page.getByTestId('migration-target')).toHaveValue(`${demoDir}-migrated`)
  await expect(page.getByTestId('plan-ItemAdded-v1')).toContainText(/ItemAdded v1→v2[\d,]+ events upcast/)
  await expect(page.getByTestId('plan-total')).toHaveText(/^[\d,]+ events$/)
  await expect(page.getByTestId('migration-dry-run-ok')).toBeVisible()
  await page.getByTestId('migration-target').fill(migrated)
  await screenshot(page, 'upcasters-migration-plan')

  await page.getByTestId('migration-start').click()
  await expect(wizard).toHaveAttribute('data-step', /run|verify/)
  await expect(wizard).toHaveAttribute('data-step', 'verify', { timeout: 60_000 })
  await expect(page.getByTestId('migration-verified')).toContainText('Verified')
  await expect(page.getByTestId('migration-streams-ok')).toBeVisible()
  const before = await page.getByTestId('migration-events-before').textContent()
  await expect(page.getByTestId('migration-events-after')).toHaveText(before ?? '')
  await expect(page.getByTestId('migration-projection-order_summary')).toHaveAttribute('data-equal', 'true')
  await expect(page.getByTestId('migration-switch')).toBeEnabled()
  expect(existsSync(join(migrated, 'events.db'))).toBe(true)
  await screenshot(page, 'upcasters-migration-verified')

  await page.getByTestId('migration-switch').click()
  await expect(page.getByTestId('migration-switched')).toContainText(migrated)
  await expect(page.getByTestId('migration-switch')).toHaveText('Switched')
  await expect(page.getByTestId('migration-switch')).toBeDisabled()
  await expect(page.getByTestId('migration-again')).toBeEnabled()
  await screenshot(page, 'upcasters-migration-switched')
  await page.getByTestId('migration-close').click()

  // The migrated log stores ItemAdded in its newest version only: nothing is left for the upcaster to do.
  await expect(page.getByTestId('event-type-ItemAdded')).not.toContainText('v1')
  await expect(page.getByTestId('event-type-ItemAdded')).toContainText('v2')
  await screenshot(page, 'upcasters-after-switch')

  // Back to the demo for the suites after this one.
  await open(page, '#/workspace')
  await expect(page.getByTestId('workspace-path')).toHaveText(migrated)
  await page.getByTestId('recent-workspaces').locator(`li[data-path="${demoDir}"]`).getByTestId('recent-open').click()
  await expect(page.getByTestId('workspace-path')).toHaveText(demoDir)
  expect(errors).toEqual([])
})
