import { describe, expect, it } from 'vitest'
import { ProjectionEngine } from './engine'
import { projectionFixture } from './fixtures'

const source = `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'bench',
  tables: { items: { columns: { id: 'text', n: 'integer', total: 'integer' }, key: ['id'] } },
  handlers: {
    Tick(event, ctx) {
      const d = event.data as { id: string; amount: number }
      const row = ctx.get('items', d.id) as { n: number; total: number } | undefined
      ctx.upsert('items', { id: d.id, n: (row?.n ?? 0) + 1, total: (row?.total ?? 0) + d.amount })
    }
  }
})
`

describe.skipIf(!process.env.ESW_PROJECTION_BENCH)('projection rebuild throughput', () => {
  it('rebuilds over 100k events', async () => {
    const f = projectionFixture(source)
    const events = Number(process.env.ESW_PROJECTION_BENCH) || 100_000
    f.store.writeTransaction(() => {
      for (let i = 0; i < events / 100; i++) f.store.appendSync(`item-${i}`, Array.from({ length: 100 }, (_, j) => ({ type: 'Tick', data: { id: `k${(i * 100 + j) % 20_000}`, amount: j } })), 'any')
    })
    const started = performance.now()
    await new ProjectionEngine(f.store, f.runner, f.descriptor, { batchSize: 2000 }).runToHead()
    const ms = performance.now() - started
    console.log(`rebuild of ${events} events: ${ms.toFixed(0)} ms, ${Math.round(events / (ms / 1000))} events/s`)
    expect(f.store.db.prepare('SELECT count(*) AS n FROM rm_bench_items').get()).toEqual({ n: 20_000 })
    await f.store.close()
  }, 120_000)
})
