import { afterEach, describe, expect, it } from 'vitest'
import { ProjectionEngine } from './engine'
import { ordersProjection, projectionFixture } from './fixtures'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function seed(store: ReturnType<typeof projectionFixture>['store'], orders: number) {
  for (let i = 0; i < orders; i++) {
    await store.appendToStream(`order-${i}`, [{ type: 'OrderPlaced', data: { orderId: `o${i}`, customerId: `c${i % 7}`, total: i * 10, lines: [{ sku: 's', q: i }] } }])
    await store.appendToStream(`noise-${i}`, [{ type: 'Noise', data: {} }])
    if (i % 3 === 0) await store.appendToStream(`order-${i}`, [{ type: 'OrderPaid', data: { orderId: `o${i}` } }])
    if (i % 5 === 4) await store.appendToStream(`order-${i}`, [{ type: 'OrderCancelled', data: { orderId: `o${i}` } }])
  }
}

function tableRows(f: ReturnType<typeof projectionFixture>, table: string) {
  return f.store.db.prepare(`SELECT * FROM "${table}" ORDER BY 1`).all()
}

describe('the projection engine', () => {
  it('projects events into tables, reading rows across batches, and names the checkpoint', async () => {
    const f = projectionFixture(ordersProjection())
    cleanups.push(() => f.store.close())
    await seed(f.store, 40)
    const small = new ProjectionEngine(f.store, f.runner, f.descriptor, { batchSize: 7 })
    const outcome = await small.runToHead()
    expect(outcome.kind).toBe('committed')
    expect(small.position()).toBe(f.store.head())
    const summary = tableRows(f, 'rm_orders_summary') as Array<{ orderId: string; status: string; lines: string; _position: number }>
    expect(summary).toHaveLength(32)
    expect(summary.find((r) => r.orderId === 'o3')).toMatchObject({ status: 'paid', lines: JSON.stringify([{ sku: 's', q: 3 }]) })
    expect(summary.find((r) => r.orderId === 'o1')).toMatchObject({ status: 'placed' })
    const customers = tableRows(f, 'rm_orders_customers') as Array<{ customerId: string; orders: number }>
    const expected = new Map<string, number>()
    for (let i = 0; i < 40; i++) if (i % 5 !== 4) expected.set(`c${i % 7}`, (expected.get(`c${i % 7}`) ?? 0) + 1)
    expect(Object.fromEntries(customers.map((c) => [c.customerId, c.orders]))).toEqual(Object.fromEntries(expected))
  })

  it('faults on a throwing handler, naming the event and the source line; skip moves past it', async () => {
    const f = projectionFixture(ordersProjection("if (event.data.orderId === 'o6') throw new Error('boom at o6')"))
    cleanups.push(() => f.store.close())
    await seed(f.store, 12)
    const engine = new ProjectionEngine(f.store, f.runner, f.descriptor, { batchSize: 1000 })
    const outcome = await engine.runToHead()
    expect(outcome.kind).toBe('faulted')
    if (outcome.kind !== 'faulted') return
    const poison = (await f.store.readStream('order-6')).events[1]
    expect(outcome.fault).toMatchObject({ position: poison.position, streamId: 'order-6', type: 'OrderPaid', file: 'projections/p.ts', line: 17 })
    expect(outcome.fault.message).toContain('boom at o6')
    // Everything before the poison event is committed.
    expect(engine.position()).toBe(poison.position - 1)
    const again = await engine.runToHead()
    expect(again.kind).toBe('faulted')
    engine.skipTo(poison.position)
    expect((await engine.runToHead()).kind).toBe('committed')
    expect(engine.position()).toBe(f.store.head())
    const o6 = f.store.db.prepare(`SELECT status FROM rm_orders_summary WHERE orderId = 'o6'`).get()
    expect(o6).toEqual({ status: 'placed' })
  })
})
