import { defineProjection, z } from 'workbench'

// Each customer's story: carts opened, orders placed and what they spent, plus a timeline of what happened.

export default defineProjection({
  name: 'customer_history',
  description: 'Per customer: carts, orders, spend, and a timeline of their orders.',
  from: { eventTypes: ['CartOpened', 'OrderPlaced', 'OrderCancelled'] },
  tables: {
    customers: {
      columns: { customerId: 'text', carts: 'integer', orders: 'integer', cancelled: 'integer', spentCents: 'integer', firstSeen: 'integer', lastSeen: 'integer' },
      key: ['customerId'],
      indexes: [['spentCents'], ['lastSeen']]
    },
    timeline: {
      columns: { customerId: 'text', position: 'integer', kind: 'text', orderId: 'text', amountCents: 'integer', at: 'integer' },
      key: ['customerId', 'position']
    },
    orderOwners: {
      columns: { orderId: 'text', customerId: 'text', totalCents: 'integer' },
      key: ['orderId']
    }
  },
  handlers: {
    CartOpened(event, ctx) {
      const d = event.data as { customerId: string }
      const c = customer(ctx, d.customerId, event.recordedAt as number)
      ctx.upsert('customers', { ...c, carts: c.carts + 1 })
    },
    OrderPlaced(event, ctx) {
      const d = event.data as { orderId: string; customerId: string; totalCents: number }
      const at = event.recordedAt as number
      const c = customer(ctx, d.customerId, at)
      ctx.upsert('customers', { ...c, orders: c.orders + 1, spentCents: c.spentCents + d.totalCents })
      ctx.upsert('orderOwners', { orderId: d.orderId, customerId: d.customerId, totalCents: d.totalCents })
      ctx.upsert('timeline', { customerId: d.customerId, position: event.position as number, kind: 'ordered', orderId: d.orderId, amountCents: d.totalCents, at })
    },
    OrderCancelled(event, ctx) {
      const d = event.data as { orderId: string }
      const owner = ctx.get('orderOwners', d.orderId) as { customerId: string; totalCents: number } | undefined
      if (!owner) return
      const at = event.recordedAt as number
      const c = customer(ctx, owner.customerId, at)
      ctx.upsert('customers', { ...c, cancelled: c.cancelled + 1, spentCents: c.spentCents - owner.totalCents })
      ctx.upsert('timeline', { customerId: owner.customerId, position: event.position as number, kind: 'cancelled', orderId: d.orderId, amountCents: -owner.totalCents, at })
    }
  },
  queries: {
    timeline: {
      input: z.object({ customerId: z.string().min(1) }),
      run: (input: { customerId: string }, q) => q.table('timeline', { where: { customerId: input.customerId }, orderBy: 'customerId' })
    },
    topSpenders: {
      input: z.object({}),
      run: (_input: Record<string, never>, q) => q.table('customers', { orderBy: 'spentCents', direction: 'desc' })
    }
  }
})

type Customer = { customerId: string; carts: number; orders: number; cancelled: number; spentCents: number; firstSeen: number; lastSeen: number }

function customer(ctx: { get(t: string, k: string): Record<string, unknown> | undefined }, customerId: string, at: number): Customer {
  const row = ctx.get('customers', customerId) as Customer | undefined
  return row ? { ...row, lastSeen: at } : { customerId, carts: 0, orders: 0, cancelled: 0, spentCents: 0, firstSeen: at, lastSeen: at }
}
