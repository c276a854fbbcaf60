import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import type { NewEvent } from '../../shared/model/events'
import type { InferredShape } from '../../shared/contract/versioning'
import { SqliteEventStore } from '../store/sqlite-store'
import { MAX_FIELDS } from './inferred-shape'
import { SchemaInference } from './schemas'

const DAY = 86_400_000
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'esw-schemas-'))
  dirs.push(dir)
  return join(dir, 'events.db')
}

/** A store whose clock the test moves. */
function openStore(file = tempFile(), start = Date.UTC(2026, 0, 1, 12)) {
  const clock = { now: start }
  const store = new SqliteEventStore(file, { now: () => clock.now, pollIntervalMs: 10 })
  return { store, clock, file }
}

const field = (shape: InferredShape, ...path: string[]): InferredShape => {
  let s = shape
  for (const name of path) {
    const f = (name === '[]' ? { shape: s.items } : s.fields?.find((x) => x.name === name)) as { shape?: InferredShape } | undefined
    if (!f?.shape) throw new Error(`no ${path.join('.')}`)
    s = f.shape
  }
  return s
}
const optional = (shape: InferredShape, name: string) => shape.fields?.find((f) => f.name === name)?.optional

/** Everything the inference stores, for comparing two runs. */
function snapshot(inference: SchemaInference) {
  const schemas = inference.list()
  return { schemas, drift: [...new Set(schemas.map((s) => s.type))].map((t) => inference.drift(t, 1000)), position: inference.position() }
}

describe('schema inference', () => {
  it('infers nested objects, arrays, unions, null and optional fields per type and schema version', async () => {
    const { store } = openStore()
    await store.appendToStream('order-1', [
      { type: 'OrderPlaced', data: { orderId: 'o1', total: 10, lines: [{ sku: 'a', qty: 1 }], address: { city: 'Lyon', zip: '69001' }, note: null } },
      { type: 'OrderPlaced', data: { orderId: 'o2', total: 12.5, lines: [{ sku: 'b', qty: 2, gift: true }, { sku: 'c', qty: 1 }], address: { city: 'Oslo' }, note: 'ring twice' } },
      { type: 'OrderPlaced', data: { orderId: 'o3', total: '13.00', lines: [], address: { city: 'Lyon', zip: 69002 } }, schemaVersion: 2 }
    ])
    const inference = new SchemaInference(store)
    expect(inference.catchUpSync()).toMatchObject({ events: 3, position: 3, types: ['OrderPlaced'] })
    const [v1, v2] = inference.list('OrderPlaced')
    expect([v1.schemaVersion, v1.count, v1.firstPosition, v1.lastPosition]).toEqual([1, 2, 1, 2])
    expect([v2.schemaVersion, v2.count, v2.firstPosition, v2.lastPosition]).toEqual([2, 1, 3, 3])

    expect(v1.shape.fields?.map((f) => f.name)).toEqual(['orderId', 'total', 'lines', 'address', 'note'])
    expect(field(v1.shape, 'total').types).toEqual({ integer: 1, number: 1 })
    expect(field(v1.shape, 'total')).toMatchObject({ min: 10, max: 12.5, examples: [10, 12.5] })
    expect(field(v1.shape, 'note').types).toEqual({ null: 1, string: 1 })
    expect(optional(v1.shape, 'note')).toBe(false)
    // Arrays: the element shape over every element; a field some elements lack is optional.
    expect(field(v1.shape, 'lines').types).toEqual({ array: 2 })
    expect(field(v1.shape, 'lines', '[]').count).toBe(3)
    expect(optional(field(v1.shape, 'lines', '[]'), 'gift')).toBe(true)
    expect(optional(field(v1.shape, 'lines', '[]'), 'sku')).toBe(false)
    // Nested objects.
    expect(optional(field(v1.shape, 'address'), 'zip')).toBe(true)
    expect(field(v1.shape, 'address', 'city').examples).toEqual(['Lyon', 'Oslo'])

    // The second version is its own shape: a string total, an empty array, a number zip, no note.
    expect(field(v2.shape, 'total').types).toEqual({ string: 1 })
    expect(field(v2.shape, 'lines')).toEqual({ count: 1, types: { array: 1 } })
    expect(field(v2.shape, 'address', 'zip').types).toEqual({ integer: 1 })
    expect(v2.shape.fields?.some((f) => f.name === 'note')).toBe(false)
    await store.close()
  })

  it('keeps the first event and the two latest as examples, with long strings cut', async () => {
    const { store } = openStore()
    for (let i = 1; i <= 5; i++) await store.appendToStream(`s-${i}`, [{ type: 'Noted', data: { i, text: 'x'.repeat(500) } }])
    const inference = new SchemaInference(store)
    inference.catchUpSync()
    const [schema] = inference.list()
    expect(schema.examples.map((e) => [e.position, e.streamId])).toEqual([[1, 's-1'], [4, 's-4'], [5, 's-5']])
    expect((schema.examples[0].data.text as string).length).toBe(201)
    expect(field(schema.shape, 'text').examples).toEqual(['x'.repeat(60) + '…'])
    expect(field(schema.shape, 'i').examples).toEqual([1, 2, 3])
    await store.close()
  })

  it('stops tracking new fields of an object used as a map, and says so', async () => {
    const { store } = openStore()
    const stock = Object.fromEntries(Array.from({ length: MAX_FIELDS + 20 }, (_, i) => [`sku-${i}`, i]))
    await store.appendToStream('s-1', [{ type: 'StockCounted', data: { stock } }])
    const inference = new SchemaInference(store)
    inference.catchUpSync()
    const shape = field(inference.list()[0].shape, 'stock')
    expect(shape.fields).toHaveLength(MAX_FIELDS)
    expect(shape.moreFields).toBe(true)
    await store.close()
  })

  it('gives the same result caught up after every batch as in one pass over the log', async () => {
    const value = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }))
    const data = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'n', '0'), fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y'), value)), { maxKeys: 4 })
    const event = fc.record({ type: fc.constantFrom('A', 'B'), schemaVersion: fc.integer({ min: 1, max: 2 }), data, days: fc.integer({ min: 0, max: 3 }) })
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(event, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 7 }), async (batches, pageSize) => {
        const { store, clock } = openStore()
        const incremental = new SchemaInference(store, { pageSize })
        for (const [i, batch] of batches.entries()) {
          for (const e of batch) {
            clock.now += e.days * DAY
            await store.appendToStream(`s-${i % 3}`, [{ type: e.type, schemaVersion: e.schemaVersion, data: e.data }])
          }
          incremental.catchUpSync()
        }
        const stepwise = snapshot(incremental)
        incremental.reset()
        const fromScratch = new SchemaInference(store, { pageSize: 10_000 })
        fromScratch.catchUpSync()
        expect(snapshot(fromScratch)).toEqual(stepwise)
        expect(stepwise.schemas.reduce((n, s) => n + s.count, 0)).toBe(batches.flat().length)
        await store.close()
      }),
      { numRuns: 25 }
    )
  })

  it('shares the work with another connection on the same file, as another process would', async () => {
    const { store: a, file } = openStore()
    const b = new SqliteEventStore(file)
    const inA = new SchemaInference(a, { pageSize: 3 })
    const inB = new SchemaInference(b, { pageSize: 3 })
    const events = (n: number, v: number): NewEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'Moved', schemaVersion: v, data: v === 1 ? { x: i } : { x: i, y: String(i) } }))
    await a.appendToStream('m-1', events(5, 1))
    inA.catchUpSync()
    await b.appendToStream('m-1', [...events(3, 1), ...events(4, 2)])
    expect(inB.catchUpSync().events).toBe(7)
    await a.appendToStream('m-2', events(2, 1))
    // A's cached shapes are from before B's commit: it must read them again, not fold onto its stale copy.
    expect(inA.catchUpSync().events).toBe(2)
    expect(inA.list().map((s) => [s.schemaVersion, s.count])).toEqual([[1, 10], [2, 4]])
    expect(inB.list()).toEqual(inA.list())
    expect(field(inA.list()[1].shape, 'y').count).toBe(4)

    // B commits between A's reading a page and A's commit: A's page is refused and read again, nothing counted twice.
    await a.appendToStream('m-3', events(5, 2))
    let interleaved = false
    const racing = new SchemaInference(a, {
      pageSize: 3,
      beforeCommit: () => {
        if (interleaved) return
        interleaved = true
        inB.catchUpSync()
      }
    })
    racing.catchUpSync()
    expect(interleaved).toBe(true)
    expect(racing.list().map((s) => [s.schemaVersion, s.count])).toEqual([[1, 10], [2, 9]])
    const together = snapshot(racing)
    racing.reset()
    racing.catchUpSync()
    expect(snapshot(racing)).toEqual(together)
    await b.close()
    await a.close()
  })

  it('counts the mix of versions per day and merges days into wider buckets when asked for fewer', async () => {
    const start = Date.UTC(2026, 2, 10, 23, 0)
    const { store, clock } = openStore(tempFile(), start)
    const at = async (dayOffset: number, hour: number, v: number, n = 1) => {
      clock.now = Date.UTC(2026, 2, 10 + dayOffset, hour)
      for (let i = 0; i < n; i++) await store.appendToStream('cart-1', [{ type: 'ItemAdded', schemaVersion: v, data: {} }])
    }
    await at(0, 23, 1, 3) // 10 March
    await at(1, 0, 1) // 11 March, just after midnight UTC
    await at(1, 5, 2, 2)
    await at(5, 12, 2, 4) // 15 March
    await store.appendToStream('other-1', [{ type: 'Other', data: {} }])
    const inference = new SchemaInference(store)
    inference.catchUpSync()
    const daily = inference.drift('ItemAdded')
    expect(daily.versions).toEqual([1, 2])
    expect(daily.bucketDays).toBe(1)
    expect(daily.buckets.map((b) => [new Date(b.start).toISOString().slice(0, 10), b.counts, b.total])).toEqual([
      ['2026-03-10', [3, 0], 3],
      ['2026-03-11', [1, 2], 3],
      ['2026-03-12', [0, 0], 0],
      ['2026-03-13', [0, 0], 0],
      ['2026-03-14', [0, 0], 0],
      ['2026-03-15', [0, 4], 4]
    ])
    const wide = inference.drift('ItemAdded', 2)
    expect(wide.bucketDays).toBe(3)
    expect(wide.buckets.map((b) => [b.start, b.end, b.counts])).toEqual([
      [Date.UTC(2026, 2, 10), Date.UTC(2026, 2, 13), [4, 2]],
      [Date.UTC(2026, 2, 13), Date.UTC(2026, 2, 16), [0, 4]]
    ])
    expect(inference.drift('Unknown')).toEqual({ type: 'Unknown', versions: [], bucketDays: 1, buckets: [] })
    await store.close()
  })

  it('catches up in pages without holding the event loop, and shares a catch-up among callers', async () => {
    const { store } = openStore()
    await store.appendToStream('s-1', Array.from({ length: 50 }, (_, i) => ({ type: 'Ticked', data: { i } })))
    const inference = new SchemaInference(store, { pageSize: 10 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    const first = inference.catchUp()
    const second = inference.catchUp()
    expect(second).toBe(first)
    const result = await first
    clearInterval(timer)
    expect(result).toMatchObject({ events: 50, position: 50, types: ['Ticked'] })
    expect(ticks).toBeGreaterThan(0)
    expect((await inference.catchUp()).events).toBe(0)
    await store.close()
  })

  it('follows appends by this and by another connection, and reports each update', async () => {
    const { store, file } = openStore()
    const other = new SqliteEventStore(file)
    const inference = new SchemaInference(store)
    const updates: Array<{ position: number; types: string[] }> = []
    const stop = inference.follow((u) => updates.push(u), 10)
    await store.appendToStream('s-1', [{ type: 'Here', data: { a: 1 } }])
    await other.appendToStream('s-2', [{ type: 'There', data: { b: 'x' } }])
    const deadline = Date.now() + 5000
    while (inference.position() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    stop()
    expect(inference.list().map((s) => s.type)).toEqual(['Here', 'There'])
    expect(updates.at(-1)?.position).toBe(2)
    expect(updates.flatMap((u) => u.types).sort()).toEqual(['Here', 'There'])
    await other.close()
    await store.close()
  })
})
