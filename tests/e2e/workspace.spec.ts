import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { PostgresEventStore } from '../../main/store/postgres-store'
import { typeInEditor } from './editors'
import { appUrl, screenshot } from './screens'

// The last test opens another workspace and comes back; the ones before it need the demo open.
test.describe.configure({ mode: 'serial' })

const run = randomUUID().slice(0, 8)
const deciders = ['carts', 'inventory', 'orders', 'payments', 'shipping']
const folders: string[] = []
test.afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true })
})

async function open(page: Page, hash: string) {
  await page.goto(appUrl(hash))
  await expect(page.getByTestId('connection-state')).toHaveText('● connected')
}

test('the Workspace panel shows the demo shop, its deciders and no problems', async ({ page }) => {
  await open(page, '#/workspace')
  await expect(page.getByTestId('workspace-name')).toContainText('Demo shop')
  await expect(page.getByTestId('workspace-demo')).toBeVisible()
  await expect(page.getByTestId('workspace-trust')).toHaveText('trusted')
  await expect(page.getByTestId('workspace-path')).toHaveText(process.env.ESW_E2E_WORKSPACE ?? '')
  await expect(page.getByTestId('trust-banner')).toHaveCount(0)
  const domain = page.getByTestId('files-domain')
  for (const name of deciders) await expect(domain.getByTestId(`file-domain/${name}.ts`)).toContainText(`decider ${name}`)
  await expect(page.getByTestId('no-problems')).toBeVisible()
  await expect(page.getByTestId('problem-count')).toHaveText('0')
  await expect(page.getByTestId('status-trusted')).toBeVisible()
  await expect(page.getByTestId('recent-workspaces')).toContainText('Demo shop')
  await screenshot(page, 'workspace-demo')
})

test('a broken file shows its problem at its line, in the problem list and as a marker in the editor', async ({ page }) => {
  const file = `domain/broken-${run}.ts`
  await open(page, '#/domain')
  await page.getByTestId('code-new').click()
  await page.getByTestId('code-new-name').fill(`broken-${run}`)
  await page.getByTestId('code-new-create').click()
  await expect(page.getByTestId('code-path')).toHaveText(file)
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')
  const editor = page.getByTestId('code-editor')
  await expect(editor.locator('.view-line').first()).toContainText("import { defineDecider, reject, z } from 'workbench'")

  // The editor knows the workbench module: it completes zod, and a wrong type gets a squiggle and a line in the list.
  await editor.locator('.monaco-editor').click()
  await page.keyboard.press('ControlOrMeta+End')
  await page.keyboard.type('\nconst amount: string = z.')
  await expect(page.locator('.suggest-widget .monaco-list-row').filter({ hasText: /^object/ }).first()).toBeVisible()
  await page.keyboard.press('Escape')
  await page.keyboard.type('number()')
  const tsProblems = page.getByTestId('problem-row').and(page.locator('[data-source="typescript"]'))
  await expect(tsProblems.filter({ hasText: "Type 'ZodNumber' is not assignable to type 'string'" })).toHaveAttribute('data-line', /^\d+$/)
  // The template itself type-checks: that is the only error.
  await expect(tsProblems).toHaveCount(1)
  await expect(editor.locator('.squiggly-error')).toHaveCount(1)
  await screenshot(page, 'domain-type-error')

  // TypeScript is happy with this file; the engine is not: loading it throws on line 4.
  await typeInEditor(page, 'code-editor', "import { defineDecider } from 'workbench'\n\nconst limit = 10\nthrow new Error('broken on purpose, limit ' + limit)\nexport default defineDecider\n")
  await expect(page.getByTestId('code-save-state')).toHaveText('Unsaved changes')
  await page.keyboard.press('ControlOrMeta+S')
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')
  const problem = page.getByTestId('problem-row').and(page.locator('[data-source="engine"]'))
  await expect(problem).toHaveAttribute('data-line', '4')
  await expect(problem).toContainText('broken on purpose, limit 10')
  await expect(page.getByTestId(`code-file-${file}`)).toContainText('1')

  // The marker sits on the line that threw.
  const squiggle = editor.locator('.squiggly-error')
  await expect(squiggle).toHaveCount(1)
  const line = editor.locator('.view-line').filter({ hasText: 'throw new Error' })
  const [squiggleBox, lineBox] = [await squiggle.boundingBox(), await line.boundingBox()]
  expect(Math.abs((squiggleBox?.y ?? 0) - (lineBox?.y ?? -100))).toBeLessThan(4)
  await line.hover({ position: { x: 60, y: 5 } })
  await expect(page.locator('.monaco-hover').filter({ hasText: 'broken on purpose' }).first()).toBeVisible()
  await screenshot(page, 'domain-engine-problem')

  // The Workspace panel lists it with file and line, and the status bar counts it.
  await page.getByTestId('nav-workspace').click()
  await expect(page.getByTestId('problem-count')).toHaveText('1')
  await expect(page.getByTestId('workspace-problem').getByTestId('problem-where')).toHaveText(new RegExp(`^${file}:4`))
  await expect(page.getByTestId('workspace-problem')).toContainText('broken on purpose')
  await expect(page.getByTestId('status-problems')).toHaveText('1 problem')
  await screenshot(page, 'workspace-problem')

  // The problem leads back to its line.
  await page.getByTestId('workspace-problem').locator('button').click()
  await expect(page).toHaveURL(/#\/domain\?file=domain(%2F|\/)broken-.*&line=4$/)
  await expect(page.getByTestId('code-path')).toHaveText(file)

  // Fixed outside the app: the editor shows the file as it is on disk now, and the problem is gone.
  writeFileSync(join(process.env.ESW_E2E_WORKSPACE ?? '', file), "// fixed on disk\nexport const limit = 10\n")
  await expect(editor.locator('.view-line').first()).toContainText('// fixed on disk')
  await expect(page.getByTestId('problems')).toHaveText('No problems')
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')

  // Deleting the file takes it out of the list.
  await page.getByTestId('code-delete').click()
  await page.getByTestId('code-delete-confirm').click()
  await expect(page.getByTestId(`code-file-${file}`)).toHaveCount(0)
  await expect(page.getByTestId('status-problems')).toHaveCount(0)
})

test('an untrusted folder runs no code until it is trusted', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'esw-e2e-untrusted-'))
  folders.push(dir)
  mkdirSync(join(dir, 'domain'))
  writeFileSync(
    join(dir, 'domain', 'counters.ts'),
    `import { defineDecider, reject, z } from 'workbench'

export default defineDecider<{ opened: boolean }>({
  name: 'counters',
  streamPrefix: 'counter',
  commands: { Open: z.object({ id: z.string().min(1) }) },
  streamId: (command) => 'counter-' + command.data.id,
  initialState: () => ({ opened: false }),
  evolve: (state, event) => (event.type === 'Opened' ? { opened: true } : state),
  decide: (command, state) => {
    if (state.opened) reject('AlreadyOpen', 'counter ' + command.data.id + ' is open already')
    return { type: 'Opened', data: { id: command.data.id } }
  }
})
`
  )

  await open(page, '#/workspace')
  await page.getByTestId('open-path').fill(dir)
  await page.getByTestId('open-folder').click()
  await expect(page.getByTestId('workspace-path')).toHaveText(dir)
  const banner = page.getByTestId('trust-banner')
  await expect(banner).toContainText("This workspace's code does not run until you trust it")
  await expect(page.getByTestId('workspace-trust')).toHaveText('untrusted')
  await expect(page.getByTestId('status-untrusted')).toBeVisible()
  // Browsing still works: the file is listed, but nothing was loaded from it.
  await expect(page.getByTestId('file-domain/counters.ts')).toContainText('not loaded (untrusted)')
  await expect(page.getByTestId('definition')).toHaveCount(0)
  await screenshot(page, 'workspace-untrusted')
  await page.getByTestId('nav-domain').click()
  await expect(page.getByTestId('code-file-domain/counters.ts')).toBeVisible()
  await expect(page.getByTestId('panel-domain')).toContainText('This workspace is not trusted')
  await screenshot(page, 'domain-untrusted')
  await page.getByTestId('nav-commands').click()
  await expect(page.getByTestId('commands-untrusted')).toBeVisible()
  await expect(page.getByTestId('decider-list')).not.toContainText('counters')
  await screenshot(page, 'commands-untrusted')
  await page.getByTestId('nav-workspace').click()

  await page.getByTestId('trust-workspace').click()
  await expect(banner).toHaveCount(0)
  await expect(page.getByTestId('file-domain/counters.ts').getByTestId('definition')).toHaveText('decider counters')
  await expect(page.getByTestId('workspace-trust')).toHaveText('trusted')
  await expect(page.getByTestId('status-trusted')).toBeVisible()
  await screenshot(page, 'workspace-trusted')

  // Back to the demo through the recent list.
  await page.getByTestId('recent-workspaces').locator('li', { hasText: 'Demo shop' }).getByTestId('recent-open').click()
  await expect(page.getByTestId('workspace-path')).toHaveText(process.env.ESW_E2E_WORKSPACE ?? '')
  await expect(page.getByTestId('workspace-name')).toContainText('Demo shop')
})

test('the demo can be made again from scratch, with its log generated by a job', async ({ page }) => {
  await open(page, '#/workspace')
  await expect(page.getByTestId('workspace-name')).toContainText('Demo shop')
  const seed = page.getByTestId('job-seed')
  await expect(seed).toHaveAttribute('data-state', 'succeeded')
  const before = await seed.getAttribute('data-job-id')
  await page.getByTestId('reset-demo').click()
  await expect(page.getByTestId('reset-confirm')).toContainText('Delete every event and edit in the demo?')
  await screenshot(page, 'workspace-reset-confirm')
  await page.getByTestId('reset-demo-confirm').click()
  await expect(seed).not.toHaveAttribute('data-job-id', before ?? '')
  await expect(seed).toContainText('Generating the demo shop log')
  await screenshot(page, 'workspace-reset-generating')
  await expect(seed).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 })
  await expect(seed.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100')
  await expect(page.getByTestId('files-domain').getByTestId('definition')).toHaveCount(5)
  await expect(page.getByTestId('no-problems')).toBeVisible()
  await screenshot(page, 'workspace-reset-done')
})

// A workspace whose log lives in PostgreSQL, on a throwaway cluster (skipped where PostgreSQL is not installed).
const pgScript = createRequire(__filename)(join(__dirname, '..', '..', 'scripts', 'pg-test-server.js')) as {
  findBinaries(): string | null
  startServer(): Promise<{ url: string; password: string; dir: string }>
  stopServer(dir: string): void
}

test('a workspace can keep its log in PostgreSQL: the password is asked for, and a teammate\'s append arrives', async ({ page }) => {
  test.skip(!pgScript.findBinaries(), 'PostgreSQL tests not run: no PostgreSQL binaries found')
  const server = await pgScript.startServer()
  const dir = join(mkdtempSync(join(tmpdir(), 'esw-e2e-pg-')), 'team-shop')
  folders.push(dir)
  const teammate = await PostgresEventStore.open({ url: server.url, password: server.password, schema: 'team' })
  let stopped = false
  try {
    await open(page, '#/workspace')
    await page.getByTestId('open-path').fill(dir)
    await page.getByTestId('open-create').check()
    await page.getByTestId('open-postgres').check()
    await page.getByTestId('open-postgres-url').fill(server.url)
    await page.getByTestId('open-postgres-schema').fill('team')
    await screenshot(page, 'workspace-postgres-form')
    await page.getByTestId('open-folder').click()
    const prompt = page.getByTestId('password-prompt')
    await expect(prompt).toContainText(server.url.replace('postgres://', ''))
    await page.getByTestId('password-input').fill('not-the-password')
    await page.getByTestId('password-submit').click()
    await expect(page.getByTestId('password-refused')).toBeVisible()
    await screenshot(page, 'workspace-postgres-password')
    await page.getByTestId('password-input').fill(server.password)
    await page.getByTestId('password-submit').click()
    await expect(page.getByTestId('workspace-path')).toHaveText(dir)
    await expect(prompt).toHaveCount(0)
    await expect(page.getByTestId('workspace-store')).toContainText('PostgreSQL')
    await expect(page.getByTestId('workspace-store')).toContainText('schema team')
    await expect(page.getByTestId('status-postgres')).toHaveText('PostgreSQL')

    // A teammate appends on the server: the working copy takes it, and the stream browser shows it.
    await teammate.appendToStream('order-77', [{ type: 'OrderPlaced', data: { orderId: '77', by: 'teammate' } }])
    await expect(page.getByTestId('workspace-sync-state')).toContainText('working copy at position 1 of 1')
    await teammate.setStreamMetadata('order-77', { custom: { owner: 'teammate' } })
    await page.getByTestId('workspace-sync').click()
    await expect(page.getByTestId('workspace-sync-error')).toHaveCount(0)
    await screenshot(page, 'workspace-postgres')
    await page.getByTestId('nav-streams').click()
    await expect(page.getByTestId('panel-streams')).toContainText('order-77')

    // A projection written in the folder: its read model is built in the working copy and published to the server.
    // `by` is the expression the handler stores in the column of that name.
    const placedBy = (by: string) =>
      writeFileSync(
        join(dir, 'projections', 'placed-by.ts'),
        `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'placed_by',
  from: { eventTypes: ['OrderPlaced'] },
  tables: { orders: { columns: { orderId: 'text', by: 'text' }, key: ['orderId'] } },
  handlers: { OrderPlaced(event, ctx) { ctx.upsert('orders', { orderId: event.data.orderId, by: ${by} }) } }
})
`
      )
    mkdirSync(join(dir, 'projections'), { recursive: true })
    placedBy('event.data.by')
    await page.getByTestId('nav-projections').click()
    const serverLine = page.getByTestId('projection-server-placed_by')
    await expect(serverLine).toHaveAttribute('data-server-state', 'published', { timeout: 15_000 })
    await expect(serverLine).toContainText('On the server at position 1')
    expect((await teammate.pool.query('SELECT "orderId", by, _position FROM team.rm_placed_by_orders')).rows).toEqual([{ orderId: '77', by: 'teammate', _position: 1 }])
    await screenshot(page, 'projections-postgres')
    // New code that writes what the server cannot hold: refused, named, and still projected here.
    placedBy("event.data.by + '\\u0000'")
    // Edited code: this copy's rows were built by the earlier code, so nothing is published until a reset or rebuild.
    await expect(serverLine).toHaveAttribute('data-server-state', 'rebuild-needed', { timeout: 15_000 })
    await expect(serverLine).toContainText('Rebuild or Reset here to publish this code')
    await screenshot(page, 'projections-postgres-rebuild-needed')
    await page.getByTestId('projection-reset-placed_by').click()
    await page.getByTestId('projection-reset-confirm-placed_by').click()
    await expect(serverLine).toHaveAttribute('data-server-state', 'refused', { timeout: 15_000 })
    await expect(serverLine).toContainText('column by: "teammate\\u0000" is not storable: it holds a NUL character (the row written by stream order-77 at position 1)')
    await screenshot(page, 'projections-postgres-refused')

    // The server goes away: the status bar and the Workspace panel say so; the copy is still browsed.
    await page.getByTestId('nav-workspace').click()
    await teammate.close()
    pgScript.stopServer(server.dir)
    stopped = true
    await expect(page.getByTestId('status-postgres')).toHaveText('⚠ PostgreSQL: not in sync', { timeout: 15_000 })
    await expect(page.getByTestId('workspace-sync-error')).toContainText('cannot be reached')
    await screenshot(page, 'workspace-postgres-away')

    // Back to the demo through the recent list.
    await page.getByTestId('recent-workspaces').locator('li', { hasText: 'Demo shop' }).getByTestId('recent-open').click()
    await expect(page.getByTestId('workspace-path')).toHaveText(process.env.ESW_E2E_WORKSPACE ?? '')
    await expect(page.getByTestId('status-postgres')).toHaveCount(0)
  } finally {
    if (!stopped) {
      await teammate.close()
      pgScript.stopServer(server.dir)
    }
  }
})
