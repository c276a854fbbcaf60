import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { typeCheck } from '../workspace/workbench-dts.test'
import { ProjectionEngine } from './engine'
import { projectionFixture } from './fixtures'

const dir = join(__dirname, '..', 'workspace', 'demo', 'template', 'projections')
const files = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => [`projections/${f}`, readFileSync(join(dir, f), 'utf8')]))

describe('the demo projections', () => {
  it('type-check against the editor typings', () => {
    expect(typeCheck(files)).toEqual([])
  })

  it('load, describe and project demo events', async () => {
    const f = projectionFixture(files['projections/customer-history.ts'], 'projections/customer-history.ts')
    await f.store.appendToStream('cart-1', [{ type: 'CartOpened', data: { cartId: '1', customerId: 'ann' } }])
    await f.store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { orderId: '1', cartId: '1', customerId: 'ann', country: 'NL', lines: [], totalCents: 500 } }])
    await f.store.appendToStream('order-2', [{ type: 'OrderPlaced', data: { orderId: '2', cartId: '2', customerId: 'ann', country: 'NL', lines: [], totalCents: 300 } }])
    await f.store.appendToStream('order-1', [{ type: 'OrderCancelled', data: { orderId: '1', reason: 'customer-request' } }])
    expect(f.descriptor).toMatchObject({ name: 'customer_history', handles: ['CartOpened', 'OrderPlaced', 'OrderCancelled'] })
    await new ProjectionEngine(f.store, f.runner, f.descriptor).runToHead()
    expect(f.store.db.prepare('SELECT customerId, carts, orders, cancelled, spentCents FROM rm_customer_history_customers').all()).toEqual([
      { customerId: 'ann', carts: 1, orders: 2, cancelled: 1, spentCents: 300 }
    ])
    expect(f.store.db.prepare('SELECT count(*) AS n FROM rm_customer_history_timeline').get()).toEqual({ n: 3 })
    for (const [file, source] of Object.entries(files)) expect(f.reload.length === 1 && f.context.load(file, source).ok).toBe(true)
    await f.store.close()
  })
})
