import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ordersProjection } from '../../main/projections/fixtures'
import { ProjectionManager } from '../../main/projections/manager'
import { workerScript } from '../../main/jobs/worker-path'
import { sandboxPrelude } from '../../main/sandbox/prelude'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import { TrustRegistry } from '../../main/workspace/trust'
import { Workspace } from '../../main/workspace/workspace'

let home: string
let workspace: Workspace
let manager: ProjectionManager

async function seed(store: SqliteEventStore, from: number, to: number) {
  for (let i = from; i < to; i++) {
    await store.appendToStream(`order-${i}`, [{ type: 'OrderPlaced', data: { orderId: `o${i}`, customerId: `c${i % 7}`, total: i * 10 } }])
    if (i % 3 === 0) await store.appendToStream(`order-${i}`, [{ type: 'OrderPaid', data: { orderId: `o${i}` } }])
    if (i % 5 === 4) await store.appendToStream(`order-${i}`, [{ type: 'OrderCancelled', data: { orderId: `o${i}` } }])
  }
}

async function load(source: string) {
  await workspace.saveFile('projections/orders.ts', source)
  const problems = workspace.state().problems
  expect(problems).toEqual([])
  manager.setProjections(await manager.describeFiles(['projections/orders.ts']))
}

function rows(table: string) {
  return workspace.store.db.prepare(`SELECT * FROM "${table}" ORDER BY 1`).all()
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-projections-'))
  workspace = await Workspace.open(join(home, 'ws'), { trust: new TrustRegistry(join(home, 'home')), watch: false })
  manager = new ProjectionManager({ store: workspace.store, runner: workspace.sandbox, prelude: sandboxPrelude, source: (file) => workspace.sourceOf(file), batchSize: 100 })
  await seed(workspace.store, 0, 60)
  await load(ordersProjection())
  await manager.idle()
})
afterAll(async () => {
  await manager.close()
  await workspace.close()
  rmSync(home, { recursive: true, force: true })
})

describe('projections in a workspace', () => {
  it('follow the log to the head and answer named queries with their lag', async () => {
    expect(manager.status('orders')).toMatchObject({ state: 'caught-up', lagEvents: 0 })
    await seed(workspace.store, 60, 70)
    await manager.idle()
    const result = await manager.runQuery({ projection: 'orders', query: 'byCustomer', input: { customerId: 'c3' } })
    expect(result.rows.map((r) => r.orderId).sort()).toEqual(['o10', 'o17', 'o3', 'o31', 'o38', 'o45', 'o52', 'o66'].sort())
    expect(result.lag).toMatchObject({ lagEvents: 0, position: workspace.store.head() })
    await expect(manager.runQuery({ projection: 'orders', query: 'byCustomer', input: { customerId: 3 } })).rejects.toMatchObject({ code: 'InvalidInput' })
  })

  it('faults on a poison event, names it with the source line, keeps the app working, and retries or skips', async () => {
    await load(ordersProjection("if (event.data.orderId === 'o72') throw new Error('cannot pay o72')"))
    await seed(workspace.store, 70, 80)
    await manager.idle()
    const status = manager.status('orders')
    expect(status.state).toBe('faulted')
    const poison = (await workspace.store.readStream('order-72')).events[1]
    expect(status.fault).toMatchObject({ position: poison.position, streamId: 'order-72', type: 'OrderPaid', file: 'projections/orders.ts', line: 17 })
    expect(status.position).toBe(poison.position - 1)
    // The rest of the app works: appends and reads go on.
    await workspace.store.appendToStream('other-1', [{ type: 'Noise', data: {} }])
    expect(manager.page({ projection: 'orders', table: 'summary', limit: 5 }).rows).toHaveLength(5)
    manager.retry('orders')
    await manager.idle()
    expect(manager.status('orders').state).toBe('faulted')
    manager.skip('orders')
    await manager.idle()
    expect(manager.status('orders')).toMatchObject({ state: 'caught-up', fault: null })
    expect(workspace.store.db.prepare(`SELECT status FROM rm_orders_summary WHERE orderId = 'o72'`).get()).toEqual({ status: 'placed' })
    await load(ordersProjection())
    await manager.rebuild('orders')
    await manager.idle()
    expect(workspace.store.db.prepare(`SELECT status FROM rm_orders_summary WHERE orderId = 'o72'`).get()).toEqual({ status: 'paid' })
  })

  it('shadow-runs an edit, diffs added, removed and changed rows, and promotes atomically', async () => {
    // The edit: paid orders get status 'settled' (changed), cancelled orders stay as 'cancelled' (added back), and
    // orders of customer c0 are left out (removed).
    const edited = ordersProjection()
      .replace("ctx.update('summary', event.data.orderId, { status: 'paid' })", "ctx.update('summary', event.data.orderId, { status: 'settled' })")
      .replace("if (row) ctx.delete('summary', event.data.orderId)", "if (!row) return\n      ctx.update('summary', event.data.orderId, { status: 'cancelled' })")
      .replace("const d = event.data\n", "const d = event.data\n      if (d.customerId === 'c0') return\n")
    await load(edited)
    const before = rows('rm_orders_summary')
    const shadow = await manager.shadowStart('orders')
    expect(shadow).toMatchObject({ mode: 'shadow', fault: null, position: workspace.store.head() })
    const [summary] = manager.shadowDiff('orders', 3)
    const all = before as Array<{ orderId: string; customerId: string; status: string }>
    const expectRemoved = all.filter((r) => r.customerId === 'c0').length
    const expectChanged = all.filter((r) => r.customerId !== 'c0' && r.status === 'paid').length
    const expectAdded = Array.from({ length: 80 }, (_, i) => i).filter((i) => i % 5 === 4 && i % 7 !== 0).length
    expect(summary).toMatchObject({ table: 'summary', added: expectAdded, removed: expectRemoved, changed: expectChanged })
    expect(summary.samples.changed[0]).toMatchObject({ before: { status: 'paid' }, after: { status: 'settled' } })
    expect(summary.samples.added).toHaveLength(3)
    // Live tables untouched until promotion; a reader during the promotion sees old or new, never a mix.
    expect(rows('rm_orders_summary')).toEqual(before)
    const reader = new SqliteEventStore(workspace.store.file, { readonly: true })
    const seen = new Set<number>()
    const timer = setInterval(() => seen.add((reader.db.prepare(`SELECT count(*) AS n FROM rm_orders_summary WHERE status = 'settled'`).get() as { n: number }).n), 1)
    await manager.shadowPromote('orders')
    await new Promise((resolve) => setTimeout(resolve, 20))
    clearInterval(timer)
    await reader.close()
    for (const n of seen) expect([0, expectChanged]).toContain(n)
    expect(rows('rm_orders_summary')).toHaveLength(before.length - expectRemoved + expectAdded)
    expect(workspace.store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm_orders__shadow%'`).all()).toEqual([])
    expect(workspace.store.db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rm_orders_summary'`).get()).toMatchObject({ n: 1 })
    await manager.idle()
    expect(manager.status('orders')).toMatchObject({ state: 'caught-up' })
    await load(ordersProjection())
    await manager.rebuild('orders')
  })

  it('promotes a shadow while a batch is in flight and the code is loaded again, and runs on after it', async () => {
    await manager.idle()
    await manager.shadowStart('orders')
    const files = await manager.describeFiles(['projections/orders.ts'])
    const pumping = () => (manager as unknown as { entries: Map<string, { pumping: boolean }> }).entries.get('orders')!.pumping
    // An append sets the runner going; the promotion waits for its batch, and the code is loaded meanwhile.
    await seed(workspace.store, 90, 92)
    expect(pumping()).toBe(true)
    const promoted = manager.shadowPromote('orders')
    manager.setProjections(files)
    expect((await promoted).state).not.toBe('paused')
    await seed(workspace.store, 92, 94)
    await manager.idle()
    expect(manager.status('orders')).toMatchObject({ state: 'caught-up', position: workspace.store.head(), job: null })
  })

  it('holds a rebuild between two batches while paused, and finishes it when resumed', async () => {
    const rebuilt = manager.rebuild('orders')
    const paused = manager.pause('orders')
    expect(paused).toMatchObject({ state: 'rebuilding', job: { kind: 'rebuild', paused: true } })
    const shadow = () => (workspace.store.db.prepare("SELECT position FROM projection_checkpoints WHERE projection = ?").get('orders__shadow') as { position: number } | undefined)?.position ?? 0
    await new Promise((resolve) => setTimeout(resolve, 400))
    const held = shadow()
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(shadow()).toBe(held)
    expect(held).toBeLessThan(workspace.store.head())
    expect(manager.status('orders')).toMatchObject({ state: 'rebuilding', job: { paused: true } })
    expect(manager.resume('orders').job).toMatchObject({ paused: false })
    const result = await rebuilt
    expect(result).toMatchObject({ mode: 'rebuild', promoted: true })
    expect(manager.status('orders')).toMatchObject({ job: null, position: workspace.store.head() })
  })

  it('ends a rebuild during which the code was loaded again, and follows the log after it', async () => {
    const rebuilt = manager.rebuild('orders')
    expect(manager.status('orders').job).toMatchObject({ kind: 'rebuild' })
    // The file is loaded again while the job runs: the projection's entry is a new one.
    manager.setProjections(await manager.describeFiles(['projections/orders.ts']))
    expect(manager.status('orders').job).toMatchObject({ kind: 'rebuild' })
    expect(await rebuilt).toMatchObject({ mode: 'rebuild', promoted: true })
    expect(manager.status('orders')).toMatchObject({ job: null, state: 'caught-up' })
    await seed(workspace.store, 70, 72)
    await manager.idle()
    expect(manager.status('orders')).toMatchObject({ job: null, state: 'caught-up', position: workspace.store.head() })
  })

  it('holds every runner between batches while new code is loaded, and goes on after it', async () => {
    // The workspace's own manager follows the same projection in the same file: both are held.
    const managers = [manager, workspace.projections]
    await manager.idle()
    const before = manager.status('orders').position
    for (const m of managers) await m.hold()
    await seed(workspace.store, 72, 80)
    // With no inline projection to run, an append does not wait for the code.
    expect(await manager.append('order-held', [{ type: 'OrderPlaced', data: { orderId: 'held', customerId: 'c1', total: 1 } }])).toMatchObject({ duplicate: false })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(manager.status('orders').position).toBe(before)
    // Loading the code ends the hold.
    manager.setProjections(await manager.describeFiles(['projections/orders.ts']))
    await manager.idle()
    expect(manager.status('orders').position).toBe(workspace.store.head())
    // A hold let go without new code (loading failed) goes on too.
    for (const m of managers) await m.hold()
    await seed(workspace.store, 80, 82)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(manager.status('orders').position).toBeLessThan(workspace.store.head())
    for (const m of managers) m.release()
    await manager.idle()
    expect(manager.status('orders').position).toBe(workspace.store.head())
  })

  it('checks pass a deterministic, idempotent projection and flag bad ones at the first offending event', async () => {
    // ordersProjection counts orders per customer: not idempotent (a repeated OrderPlaced counts twice).
    expect(await manager.check('orders', 'determinism')).toMatchObject({ passed: true, firstOffending: null })
    const idem = await manager.check('orders', 'idempotency')
    expect(idem.passed).toBe(false)
    expect(idem.firstOffending).toMatchObject({ type: 'OrderPlaced', streamId: 'order-0' })
    expect(idem.differences[0]).toMatchObject({ table: 'customers', changed: 1 })
    const idempotent = ordersProjection().replace("ctx.upsert('customers', { customerId: d.customerId, orders: (c?.orders ?? 0) + 1 })", "ctx.upsert('customers', { customerId: d.customerId, orders: 1 })").replace('c.orders - 1', '1').replace("if (row) ctx.delete", "if (!row) return\n      ctx.delete")
    await load(idempotent)
    expect(await manager.check('orders', 'idempotency')).toMatchObject({ passed: true })
    // A handler with state outside the read model: not deterministic.
    const leaky = ordersProjection().replace('export default', 'let placed = 0\nexport default').replace('total: d.total,', 'total: d.total + placed++,')
    await load(leaky)
    const det = await manager.check('orders', 'determinism')
    expect(det.passed).toBe(false)
    expect(det.firstOffending).toMatchObject({ type: 'OrderPlaced' })
    await load(ordersProjection())
    await manager.rebuild('orders')
  })

  it('pages a table with keysets, returning every row once while new events arrive', async () => {
    const seenIds = new Map<string, number>()
    let after: string | null = null
    let n = 80
    let pages = 0
    do {
      const page = manager.page({ projection: 'orders', table: 'summary', orderBy: 'customerId', limit: 7, after })
      for (const r of page.rows) seenIds.set(String(r.orderId), (seenIds.get(String(r.orderId)) ?? 0) + 1)
      after = page.next
      pages++
      // New orders land everywhere in the sort order between pages.
      await seed(workspace.store, n, n + 3)
      n += 3
      await manager.idle()
    } while (after)
    expect(pages).toBeGreaterThan(5)
    expect([...seenIds.values()].every((c) => c === 1)).toBe(true)
    const beforeRun = (rows('rm_orders_summary') as Array<{ orderId: string; _position: number }>).filter((r) => Number(r.orderId.slice(1)) < 80)
    for (const r of beforeRun) expect(seenIds.has(r.orderId)).toBe(true)
    const sorted = manager.page({ projection: 'orders', table: 'summary', orderBy: 'customerId', direction: 'desc', limit: 5, withTotal: true, where: { status: { ne: 'paid' } } })
    expect(sorted.rows.map((r) => r.customerId)).toEqual(['c6', 'c6', 'c6', 'c6', 'c6'])
    expect(sorted.total).toBeGreaterThan(5)
    expect(() => manager.page({ projection: 'orders', table: 'summary', orderBy: 'total' })).toThrow(/can be sorted by/)
  })
})

describe('exactly once', () => {
  it('leaves the read model equal to a fresh rebuild after the runner is killed mid-batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esw-proj-crash-'))
    const dbFile = join(dir, 'events.db')
    const sourceFile = join(dir, 'p.ts')
    writeFileSync(sourceFile, ordersProjection())
    const store = new SqliteEventStore(dbFile)
    await seed(store, 0, 400)
    const child = workerScript('projection-child', join(__dirname, 'fixtures', 'projection-child.ts'))
    const run = (dbPath: string, killAt?: number) =>
      new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [child, dbPath, sourceFile, ...(killAt ? [String(killAt)] : [])], { stdio: ['ignore', 'pipe', 'pipe'], cwd: process.cwd() })
        let out = ''
        p.stdout.on('data', (d: Buffer) => (out += d.toString()))
        p.stderr.on('data', (d: Buffer) => (out += d.toString()))
        p.on('exit', (code, signal) => resolve({ code, signal, out }))
      })
    const killed = await run(dbFile, 5)
    expect(killed.signal).toBe('SIGKILL')
    expect(killed.out.match(/committed/g)).toHaveLength(4)
    const position = (store.db.prepare(`SELECT position FROM projection_checkpoints WHERE projection = 'orders'`).get() as { position: number }).position
    expect(killed.out).toContain(`committed ${position}\n`)
    const finished = await run(dbFile)
    expect(finished.out).toContain('done')
    // A fresh rebuild into another copy of the log.
    const fresh = join(dir, 'fresh.db')
    await store.db.backup(fresh)
    const copy = new SqliteEventStore(fresh)
    copy.db.exec('DROP TABLE rm_orders_summary; DROP TABLE rm_orders_customers; DELETE FROM projection_checkpoints')
    await copy.close()
    expect((await run(fresh)).out).toContain('done')
    const read = (file: string) => {
      const s = new SqliteEventStore(file, { readonly: true })
      const out = [s.db.prepare('SELECT * FROM rm_orders_summary ORDER BY orderId').all(), s.db.prepare('SELECT * FROM rm_orders_customers ORDER BY customerId').all()]
      void s.close()
      return out
    }
    const [a, b] = [read(dbFile), read(fresh)]
    expect(a[0].length).toBeGreaterThan(300)
    expect(a).toEqual(b)
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
