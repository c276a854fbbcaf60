import { defineProjection, z } from 'workbench'

// Stock per SKU: what came in, what is held for orders, what left, and what is free to sell.

type Movement = { sku: string; quantity: number }

export default defineProjection({
  name: 'inventory_levels',
  description: 'On-hand, reserved and available stock per SKU.',
  from: { eventTypes: ['StockReceived', 'StockReserved', 'StockReleased', 'StockDispatched'] },
  // Inline: a command's stock movements are in this table when the command returns.
  lifecycle: 'inline',
  tables: {
    levels: {
      columns: { sku: 'text', received: 'integer', reserved: 'integer', dispatched: 'integer', available: 'integer' },
      key: ['sku'],
      indexes: [['available']]
    }
  },
  handlers: {
    StockReceived(event, ctx) {
      move(ctx, event.data as Movement, { received: 1, available: 1 })
    },
    StockReserved(event, ctx) {
      move(ctx, event.data as Movement, { reserved: 1, available: -1 })
    },
    StockReleased(event, ctx) {
      move(ctx, event.data as Movement, { reserved: -1, available: 1 })
    },
    StockDispatched(event, ctx) {
      move(ctx, event.data as Movement, { reserved: -1, dispatched: 1 })
    }
  },
  queries: {
    lowStock: {
      input: z.object({ below: z.number().int().default(5) }),
      run: (_input: { below: number }, q) => q.table('levels', { orderBy: 'available' })
    }
  }
})

type Level = { sku: string; received: number; reserved: number; dispatched: number; available: number }

function move(ctx: { get(t: string, k: string): Record<string, unknown> | undefined; upsert(t: string, r: Record<string, unknown>): void }, m: Movement, sign: Partial<Record<keyof Level, number>>) {
  const row = (ctx.get('levels', m.sku) as Level | undefined) ?? { sku: m.sku, received: 0, reserved: 0, dispatched: 0, available: 0 }
  const next = { ...row }
  for (const [field, s] of Object.entries(sign) as Array<[keyof Omit<Level, 'sku'>, number]>) next[field] = row[field] + s * m.quantity
  ctx.upsert('levels', next)
}
