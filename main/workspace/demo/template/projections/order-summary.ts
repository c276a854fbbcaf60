import { defineProjection, z } from 'workbench'

// One row per order: who placed it, what it came to, and how far it got.

export default defineProjection({
  name: 'order_summary',
  description: 'Orders with their customer, total and status, from checkout to shipping.',
  from: { categories: ['order'] },
  tables: {
    orders: {
      columns: { orderId: 'text', customerId: 'text', country: 'text', status: 'text', totalCents: 'integer', lines: 'integer', placedAt: 'integer', updatedAt: 'integer' },
      key: ['orderId'],
      indexes: [['customerId'], ['status'], ['placedAt']]
    }
  },
  handlers: {
    OrderPlaced(event, ctx) {
      const d = event.data as { orderId: string; customerId: string; country: string; totalCents: number; lines: unknown[] }
      const at = event.recordedAt as number
      ctx.upsert('orders', { orderId: d.orderId, customerId: d.customerId, country: d.country, status: 'placed', totalCents: d.totalCents, lines: d.lines.length, placedAt: at, updatedAt: at })
    },
    OrderPaid(event, ctx) {
      ctx.update('orders', (event.data as { orderId: string }).orderId, { status: 'paid', updatedAt: event.recordedAt as number })
    },
    OrderShipped(event, ctx) {
      ctx.update('orders', (event.data as { orderId: string }).orderId, { status: 'shipped', updatedAt: event.recordedAt as number })
    },
    OrderCancelled(event, ctx) {
      ctx.update('orders', (event.data as { orderId: string }).orderId, { status: 'cancelled', updatedAt: event.recordedAt as number })
    }
  },
  queries: {
    byCustomer: {
      input: z.object({ customerId: z.string().min(1) }),
      description: "A customer's orders, newest first",
      run: (input: { customerId: string }, q) => q.table('orders', { where: { customerId: input.customerId }, orderBy: 'placedAt', direction: 'desc' })
    },
    byStatus: {
      input: z.object({ status: z.enum(['placed', 'paid', 'shipped', 'cancelled']) }),
      run: (input: { status: string }, q) => q.table('orders', { where: { status: input.status }, orderBy: 'placedAt' })
    }
  }
})
