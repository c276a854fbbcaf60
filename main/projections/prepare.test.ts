import { afterEach, describe, expect, it } from 'vitest'
import { ProjectionEngine } from './engine'
import { projectionFixture } from './fixtures'

// A batch's rounds with the sandbox: rows and query results it asks for, and what comes back to the host.

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

const chained = `import { defineProjection } from 'workbench'
export default defineProjection({
  name: 'chain',
  from: 'all',
  tables: {
    links: { columns: { id: 'text', next: 'text' }, key: ['id'], indexes: [['next']] },
    paths: { columns: { start: 'text', end: 'text', hops: 'json' }, key: ['start'] }
  },
  handlers: {
    Linked(event, ctx) {
      ctx.upsert('links', { id: event.data.id, next: event.data.next })
    },
    Walked(event, ctx) {
      // Each query can only be asked once the answer to the one before is known.
      const hops = [event.data.from]
      for (let i = 0; i < 4; i++) {
        const found = ctx.query('links', { where: { id: hops[hops.length - 1] } })
        if (found.length === 0) break
        hops.push(found[0].next)
      }
      ctx.upsert('paths', { start: event.data.from, end: hops[hops.length - 1], hops })
    },
    Unlinked(event, ctx) {
      ctx.delete('links', event.data.id)
    }
  }
})
`

describe('preparing a batch', () => {
  it('answers queries that depend on earlier queries, keeping every result across rounds', async () => {
    const f = projectionFixture(chained)
    cleanups.push(() => f.store.close())
    for (const [id, next] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e']]) await f.store.appendToStream(`link-${id}`, [{ type: 'Linked', data: { id, next } }])
    const engine = new ProjectionEngine(f.store, f.runner, f.descriptor, { batchSize: 10 })
    await engine.runToHead()
    await f.store.appendToStream('walk-1', [{ type: 'Walked', data: { from: 'a' } }])
    expect((await engine.runToHead()).kind).toBe('committed')
    expect(f.store.db.prepare('SELECT start, "end", hops FROM rm_chain_paths').all()).toEqual([{ start: 'a', end: 'e', hops: JSON.stringify(['a', 'b', 'c', 'd', 'e']) }])
  })

  it('returns each touched key once with its row, its key and the event that wrote it last, also when every event comes twice', async () => {
    const f = projectionFixture(chained)
    cleanups.push(() => f.store.close())
    await f.store.appendToStream('link-a', [{ type: 'Linked', data: { id: 'a', next: 'b' } }, { type: 'Linked', data: { id: 'a', next: 'c' } }])
    await f.store.appendToStream('link-x', [{ type: 'Linked', data: { id: 'x', next: 'y' } }, { type: 'Unlinked', data: { id: 'x' } }])
    for (const deliverTwice of [false, true]) {
      const engine = new ProjectionEngine(f.store, f.runner, f.descriptor, { deliverTwice, schema: 'main', shadow: deliverTwice })
      const { events, to } = engine.readEvents(0)
      const batch = await engine.prepare(events, 0, to)
      expect(batch.handled).toBe(deliverTwice ? 8 : 4)
      expect(batch.writes).toEqual([
        ['links', '["a"]', { id: 'a', next: 'c' }, 2, 'link-a'],
        ['links', '["x"]', null, 4, 'link-x']
      ])
    }
  })
})
