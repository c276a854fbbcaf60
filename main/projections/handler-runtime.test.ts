import { describe, expect, it } from 'vitest'
import { seedOf } from '../sandbox/runtime/seed'
import { runProjection, seedForEvent, type DoneAnswer, type EventTuple, type HandlerContext, type ProjectionDef, type RunAnswer } from './handler-runtime'

// The handler runtime as plain functions (in the app it runs inside the sandbox's vm context).

type Handler = (event: Record<string, unknown>, ctx: HandlerContext) => void

function projection(handlers: Record<string, Handler>): ProjectionDef {
  return {
    kind: 'projection',
    name: 'p',
    tables: {
      items: { columns: { id: 'text', sku: 'text', price: 'integer' }, key: ['id'] },
      pairs: { columns: { a: 'text', b: 'integer', note: 'json' }, key: ['a', 'b'] }
    },
    handlers
  }
}

let epochs = 0
const tuple = (position: number, type: string, data: Record<string, unknown>): EventTuple => [position, `s-${position}`, 1, type, 1, `id-${position}`, data as never, null, 1000 + position]
const run = (def: ProjectionDef, events: EventTuple[], extra: { epoch?: string; rows?: Array<[string, string, Record<string, never> | null]> } = {}): RunAnswer =>
  runProjection(def, { id: 'test', epoch: extra.epoch ?? `e${epochs++}`, rows: extra.rows, events }, () => {})

function done(answer: RunAnswer): DoneAnswer {
  expect(answer.outcome).toBe('done')
  return answer as DoneAnswer
}

describe('the projection handler runtime', () => {
  it('answers a batch of upserts at once, without rows from the host, as compact net writes', () => {
    const def = projection({
      Priced: (e, ctx) => ctx.upsert('items', { id: (e.data as { id: string }).id, sku: 'k', price: (e.data as { price: number }).price }),
      Paired: (e, ctx) => ctx.upsert('pairs', { a: 'x', b: (e.data as { b: number }).b, note: { n: e.position as number } }),
      Removed: (e, ctx) => ctx.delete('items', (e.data as { id: string }).id)
    })
    const answer = done(run(def, [tuple(1, 'Priced', { id: 'a', price: 1 }), tuple(2, 'Priced', { id: 'b', price: 2 }), tuple(3, 'Priced', { id: 'a', price: 3 }), tuple(4, 'Paired', { b: 7 }), tuple(5, 'Removed', { id: 'b' }), tuple(6, 'Other', {})]))
    expect(answer.handled).toBe(5)
    expect(answer.tables).toEqual([
      ['items', ['id', 'sku', 'price'], [0]],
      ['pairs', ['a', 'b', 'note'], [0, 1]]
    ])
    // Per key its last write and the index of the event that made it; a delete carries its key.
    expect(answer.writes).toEqual([
      [0, 2, 'a', 'k', 3],
      [-1, 4, '["b"]'],
      [1, 3, 'x', 7, { n: 4 }]
    ])
  })

  it('keeps no rows of a table that is only written, and keeps them once the table is read', () => {
    const def = projection({
      Priced: (e, ctx) => ctx.upsert('items', { id: (e.data as { id: string }).id, price: 1 }),
      Read: (e, ctx) => void ctx.get('items', (e.data as { id: string }).id)
    })
    const epoch = 'fixed'
    done(run(def, [tuple(1, 'Priced', { id: 'a' })], { epoch }))
    // Nothing was kept for the write-only table: reading it asks the host.
    expect(run(def, [tuple(2, 'Read', { id: 'a' })], { epoch })).toEqual({ outcome: 'need', rows: [['items', '["a"]']], queries: [] })
    done(run(def, [tuple(2, 'Read', { id: 'a' })], { epoch, rows: [['items', '["a"]', { id: 'a', price: 1 } as never]] }))
    // Now the table has been read, its writes are kept and read back without asking.
    done(run(def, [tuple(3, 'Priced', { id: 'b' })], { epoch }))
    done(run(def, [tuple(4, 'Read', { id: 'b' })], { epoch }))
    // A new epoch (the host changed the tables) forgets everything.
    expect(run(def, [tuple(4, 'Read', { id: 'b' })]).outcome).toBe('need')
  })

  it('drops the least recently written rows beyond its limit', () => {
    const def = projection({
      Priced: (e, ctx) => ctx.upsert('items', { id: (e.data as { id: string }).id, price: 1 }),
      Read: (e, ctx) => void ctx.get('items', (e.data as { id: string }).id)
    })
    const epoch = 'lru'
    expect(run(def, [tuple(1, 'Read', { id: 'none' })], { epoch }).outcome).toBe('need')
    done(run(def, Array.from({ length: 25_000 }, (_, i) => tuple(i + 2, 'Priced', { id: `k${i}` })), { epoch }))
    expect(run(def, [tuple(30_000, 'Read', { id: 'k0' })], { epoch }).outcome).toBe('need')
    done(run(def, [tuple(30_000, 'Read', { id: 'k24999' })], { epoch }))
  })

  it('names the event whose handler threw, and rejects bad rows', () => {
    const def = projection({
      Priced: (e, ctx) => ctx.upsert('items', { id: (e.data as { id: string }).id, price: (e.data as { price: unknown }).price as number }),
      Keyless: (_e, ctx) => ctx.upsert('items', { sku: 'x' })
    })
    expect(() => run(def, [tuple(1, 'Priced', { id: 'a', price: 1 }), tuple(2, 'Priced', { id: 'b', price: 'two' })])).toThrow('p.items.price is integer, got string')
    expect(() => run(def, [tuple(1, 'Keyless', {})])).toThrow("key column 'id' is missing")
  })

  it('seeds each event the way the rest of the sandbox does', () => {
    for (const id of ['', 'a', '0193b6f2-5a5e-7c2a-9d41-4f0e1c2b3a4d', 'ünïcödé']) expect(seedForEvent({ id })).toBe(seedOf(id))
    expect(seedForEvent({ position: 42 })).toBe(seedOf('42'))
  })
})
