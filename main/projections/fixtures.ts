import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProjectionDescriptor } from '../../shared/contract/projections'
import { inThreadRunner, type CodeRunner } from '../cqrs/runner'
import { SandboxContext } from '../sandbox/context'
import { sandboxPrelude } from '../sandbox/prelude'
import { userCodeError } from '../sandbox/sandbox'
import { SqliteEventStore } from '../store/sqlite-store'
import { describeFile } from './descriptors'

/** A store in a temporary folder and an in-thread sandbox with one projection file loaded (tests). */
export function projectionFixture(source: string, file = 'projections/p.ts'): { store: SqliteEventStore; context: SandboxContext; runner: CodeRunner; descriptor: ProjectionDescriptor; dir: string; reload(next: string): ProjectionDescriptor } {
  const dir = mkdtempSync(join(tmpdir(), 'esw-proj-'))
  const store = new SqliteEventStore(join(dir, 'events.db'))
  const context = new SandboxContext(sandboxPrelude())
  const runner = inThreadRunner(context)
  const load = (text: string) => {
    const loaded = context.load(file, text)
    if (!loaded.ok) throw userCodeError(loaded.failure, `loading ${file}`)
    return describeFile(context, file)[0]
  }
  const descriptor = load(source)
  return { store, context, runner, descriptor, dir, reload: load }
}

/** A projection of orders and orders per customer over the test events OrderPlaced, OrderPaid, OrderCancelled. */
export const ordersProjection = (extra = '') => `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'orders',
  from: 'all',
  tables: {
    summary: { columns: { orderId: 'text', customerId: 'text', total: 'integer', status: 'text', lines: 'json' }, key: ['orderId'], indexes: [['customerId']] },
    customers: { columns: { customerId: 'text', orders: 'integer' }, key: ['customerId'] }
  },
  handlers: {
    OrderPlaced(event, ctx) {
      const d = event.data
      ctx.upsert('summary', { orderId: d.orderId, customerId: d.customerId, total: d.total, status: 'placed', lines: d.lines ?? [] })
      const c = ctx.get('customers', d.customerId)
      ctx.upsert('customers', { customerId: d.customerId, orders: (c?.orders ?? 0) + 1 })
    },
    OrderPaid(event, ctx) {
      ${extra}
      ctx.update('summary', event.data.orderId, { status: 'paid' })
    },
    OrderCancelled(event, ctx) {
      const row = ctx.get('summary', event.data.orderId)
      if (row) ctx.delete('summary', event.data.orderId)
      const c = ctx.get('customers', row.customerId)
      ctx.upsert('customers', { customerId: row.customerId, orders: c.orders - 1 })
    }
  },
  queries: {
    byCustomer: { input: z.object({ customerId: z.string() }), run: (input, q) => q.table('summary', { where: { customerId: input.customerId }, orderBy: 'customerId' }) }
  }
})
`.replace("import { defineProjection } from 'workbench'", "import { defineProjection, z } from 'workbench'")
