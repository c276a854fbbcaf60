import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CodeRunner } from '../../main/cqrs/runner'
import { ordersProjection } from '../../main/projections/fixtures'
import { runInWorker } from '../../main/jobs/runner'
import { ProjectionManager } from '../../main/projections/manager'
import { sandboxPrelude } from '../../main/sandbox/prelude'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import { TrustRegistry } from '../../main/workspace/trust'
import { Workspace } from '../../main/workspace/workspace'

let home: string
let workspace: Workspace
let manager: ProjectionManager
/** Runs once before the first call into the sandbox whose request mentions `when` (another process appending mid-append). */
let beforeNextCall: { when: string; run: () => void } | null = null

const inline = (extra = '') => ordersProjection(extra).replace("from: 'all',", "from: 'all',\n  lifecycle: 'inline',")

async function load(source: string) {
  await workspace.saveFile('projections/orders.ts', source)
  expect(workspace.state().problems).toEqual([])
  manager.setProjections(await manager.describeFiles(['projections/orders.ts']))
}

const summary = (orderId: string) => workspace.store.db.prepare('SELECT status, total FROM rm_orders_summary WHERE orderId = ?').get(orderId)
const checkpoint = () => (workspace.store.db.prepare("SELECT position FROM projection_checkpoints WHERE projection = 'orders'").get() as { position: number }).position

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-inline-'))
  workspace = await Workspace.open(join(home, 'ws'), { trust: new TrustRegistry(join(home, 'home')), watch: false })
  // Only the manager under test runs projections here.
  await workspace.projections.close()
  const sandbox = workspace.sandbox
  const runner: CodeRunner = {
    call: (request, where) => {
      if (beforeNextCall && JSON.stringify(request).includes(beforeNextCall.when)) {
        const hook = beforeNextCall
        beforeNextCall = null
        hook.run()
      }
      return sandbox.call(request, where)
    }
  }
  manager = new ProjectionManager({ store: workspace.store, runner, prelude: sandboxPrelude, source: (file) => workspace.sourceOf(file), batchSize: 100 })
  await workspace.store.appendToStream('order-0', [{ type: 'OrderPlaced', data: { orderId: 'o0', customerId: 'c0', total: 5 } }])
  await load(inline())
  await manager.idle()
})
afterAll(async () => {
  await manager.close()
  await workspace.close()
  rmSync(home, { recursive: true, force: true })
})

describe('inline projections', () => {
  it('are described as inline and have their writes in the read model when the append returns', async () => {
    expect(manager.descriptor('orders').lifecycle).toBe('inline')
    expect(manager.status('orders')).toMatchObject({ lifecycle: 'inline', state: 'caught-up' })
    const result = await manager.append('order-1', [{ type: 'OrderPlaced', data: { orderId: 'o1', customerId: 'c1', total: 10 } }, { type: 'OrderPaid', data: { orderId: 'o1' } }])
    // No waiting for the runner: the checkpoint moved in the append's own transaction.
    expect(checkpoint()).toBe(result.lastPosition)
    expect(summary('o1')).toEqual({ status: 'paid', total: 10 })
  })

  it('refuse the whole append when a handler throws, naming the projection, and store nothing', async () => {
    await load(inline("if (event.data.orderId === 'o2') throw new Error('cannot pay o2')"))
    const head = workspace.store.head()
    const error = await manager
      .append('order-2', [{ type: 'OrderPlaced', data: { orderId: 'o2', customerId: 'c2', total: 20 } }, { type: 'OrderPaid', data: { orderId: 'o2' } }])
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'UserCodeFailed', details: { projection: 'orders', streamId: 'order-2', file: 'projections/orders.ts', line: 18 } })
    expect((error as Error).message).toMatch(/Inline projection orders failed on the append to order-2; nothing was stored: .*cannot pay o2/)
    expect(workspace.store.head()).toBe(head)
    expect(workspace.store.streamVersion('order-2')).toBe(0)
    expect(summary('o2')).toBeUndefined()
    expect(checkpoint()).toBe(head)
    // Appends the handler accepts still go through, with the row cache intact.
    await manager.append('order-3', [{ type: 'OrderPlaced', data: { orderId: 'o3', customerId: 'c1', total: 30 } }])
    expect(summary('o3')).toEqual({ status: 'placed', total: 30 })
    expect(workspace.store.db.prepare("SELECT orders FROM rm_orders_customers WHERE customerId = 'c1'").get()).toEqual({ orders: 2 })
    await load(inline())
  })

  it('catch up with appends of another process first, and start over when the log moves under an append', async () => {
    const other = new SqliteEventStore(workspace.store.file)
    try {
      other.appendSync('order-4', [{ type: 'OrderPlaced', data: { orderId: 'o4', customerId: 'c4', total: 40 } }], 'any')
      // This one lands while the inline append is running its handlers: the prediction is stale, the append retries.
      beforeNextCall = { when: '"o6"', run: () => other.appendSync('order-5', [{ type: 'OrderPlaced', data: { orderId: 'o5', customerId: 'c4', total: 50 } }], 'any') }
      const result = await manager.append('order-6', [{ type: 'OrderPlaced', data: { orderId: 'o6', customerId: 'c4', total: 60 } }], { expectedVersion: 'no-stream' })
      expect(beforeNextCall).toBeNull()
      expect(result.firstPosition).toBe(workspace.store.head())
      expect(checkpoint()).toBe(workspace.store.head())
      for (const id of ['o4', 'o5', 'o6']) expect(summary(id)).toMatchObject({ status: 'placed' })
      expect(workspace.store.db.prepare("SELECT orders FROM rm_orders_customers WHERE customerId = 'c4'").get()).toEqual({ orders: 3 })
      expect(workspace.store.streamVersion('order-6')).toBe(1)
    } finally {
      await other.close()
    }
  })

  it('leave a repeated append (same ids) stored once and the read model unchanged', async () => {
    const event = { id: '0190a0f0-0000-7000-8000-000000000001', type: 'OrderPlaced', data: { orderId: 'o7', customerId: 'c7', total: 70 } }
    const first = await manager.append('order-7', [event])
    const again = await manager.append('order-7', [event])
    expect(again).toMatchObject({ duplicate: true, firstPosition: first.firstPosition })
    expect(workspace.store.db.prepare("SELECT orders FROM rm_orders_customers WHERE customerId = 'c7'").get()).toEqual({ orders: 1 })
    await manager.append('order-8', [{ type: 'OrderPlaced', data: { orderId: 'o8', customerId: 'c7', total: 80 } }])
    expect(workspace.store.db.prepare("SELECT orders FROM rm_orders_customers WHERE customerId = 'c7'").get()).toEqual({ orders: 2 })
  })

  it('match a rebuild from zero after all of the above', async () => {
    const live = workspace.store.db.prepare('SELECT orderId, customerId, total, status FROM rm_orders_summary ORDER BY orderId').all()
    await manager.rebuild('orders')
    expect(workspace.store.db.prepare('SELECT orderId, customerId, total, status FROM rm_orders_summary ORDER BY orderId').all()).toEqual(live)
  })
})

describe('a large lag', () => {
  it('is caught up in a job thread, then followed here; cancelling the job pauses the projection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esw-catchup-'))
    const ws = await Workspace.open(join(dir, 'ws'), { trust: new TrustRegistry(join(dir, 'home')), watch: false })
    // Only the manager under test runs projections here.
    await ws.projections.close()
    const kinds: string[] = []
    let cancelNext = false
    const jobs = new ProjectionManager({
      store: ws.store,
      runner: ws.sandbox,
      prelude: sandboxPrelude,
      source: (file) => ws.sourceOf(file),
      catchUpInJobAbove: 50,
      startJob: (task, onProgress) => {
        kinds.push((task as { mode: string }).mode)
        const running = runInWorker(task, onProgress)
        if (cancelNext) {
          cancelNext = false
          running.cancel()
        }
        return running
      }
    })
    try {
      for (let i = 0; i < 200; i++) ws.store.appendSync(`order-${i}`, [{ type: 'OrderPlaced', data: { orderId: `o${i}`, customerId: `c${i % 9}`, total: i } }], 'any')
      await ws.saveFile('projections/orders.ts', ordersProjection())
      cancelNext = true
      jobs.setProjections(await jobs.describeFiles(['projections/orders.ts']))
      await jobs.idle()
      expect(kinds).toEqual(['catch-up'])
      expect(jobs.status('orders')).toMatchObject({ state: 'paused', job: null })
      jobs.resume('orders')
      await jobs.idle()
      expect(kinds).toEqual(['catch-up', 'catch-up'])
      expect(jobs.status('orders')).toMatchObject({ state: 'caught-up', position: 200 })
      expect((ws.store.db.prepare('SELECT count(*) AS n FROM rm_orders_summary').get() as { n: number }).n).toBe(200)
      // A small lag is followed here, batch by batch.
      for (let i = 200; i < 210; i++) await ws.store.appendToStream(`order-${i}`, [{ type: 'OrderPlaced', data: { orderId: `o${i}`, customerId: 'c1', total: i } }])
      await jobs.idle()
      expect(kinds).toHaveLength(2)
      expect((ws.store.db.prepare('SELECT count(*) AS n FROM rm_orders_summary').get() as { n: number }).n).toBe(210)
    } finally {
      await jobs.close()
      await ws.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
