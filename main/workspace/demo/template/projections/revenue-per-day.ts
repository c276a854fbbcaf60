import { defineProjection, z } from 'workbench'

// Money in and out per UTC day: charges, refunds and the net, with how many payments made them up.

export default defineProjection({
  name: 'revenue_per_day',
  description: 'Charged, refunded and net revenue per day (UTC).',
  from: { eventTypes: ['PaymentCharged', 'PaymentRefunded'] },
  tables: {
    days: {
      columns: { day: 'text', chargedCents: 'integer', refundedCents: 'integer', netCents: 'integer', payments: 'integer' },
      key: ['day']
    }
  },
  handlers: {
    PaymentCharged(event, ctx) {
      add(ctx, event.recordedAt as number, (event.data as { amountCents: number }).amountCents, 0)
    },
    PaymentRefunded(event, ctx) {
      add(ctx, event.recordedAt as number, 0, (event.data as { amountCents: number }).amountCents)
    }
  },
  queries: {
    range: {
      input: z.object({ from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }),
      description: 'The days from a date (YYYY-MM-DD) on, oldest first.',
      run: (input: { from: string }, q) => q.table('days', { where: { day: { gte: input.from } }, orderBy: 'day' })
    }
  }
})

type Day = { day: string; chargedCents: number; refundedCents: number; netCents: number; payments: number }

function add(ctx: { get(t: string, k: string): Record<string, unknown> | undefined; upsert(t: string, r: Record<string, unknown>): void }, at: number, charged: number, refunded: number) {
  const day = new Date(at).toISOString().slice(0, 10)
  const row = (ctx.get('days', day) as Day | undefined) ?? { day, chargedCents: 0, refundedCents: 0, netCents: 0, payments: 0 }
  ctx.upsert('days', {
    day,
    chargedCents: row.chargedCents + charged,
    refundedCents: row.refundedCents + refunded,
    netCents: row.netCents + charged - refunded,
    payments: row.payments + 1
  })
}
