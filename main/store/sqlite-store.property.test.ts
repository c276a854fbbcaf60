import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ExpectedVersion } from '../../shared/model/events'
import { TYPE_COUNTS_BY_STREAM } from './schema'
import { SqliteEventStore } from './sqlite-store'

type Op =
  | { kind: 'append'; stream: number; count: number; expected: 'any' | 'no-stream' | 'exists' | 'exact' | 'stale' }
  | { kind: 'readStream'; stream: number; from: number; limit: number; backwards: boolean }
  | { kind: 'readAll'; from: number; limit: number; backwards: boolean }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    stream: fc.integer({ min: 0, max: 3 }),
    count: fc.integer({ min: 1, max: 4 }),
    expected: fc.constantFrom('any' as const, 'no-stream' as const, 'exists' as const, 'exact' as const, 'stale' as const)
  }),
  fc.record({ kind: fc.constant('readStream' as const), stream: fc.integer({ min: 0, max: 3 }), from: fc.integer({ min: 0, max: 12 }), limit: fc.integer({ min: 1, max: 6 }), backwards: fc.boolean() }),
  fc.record({ kind: fc.constant('readAll' as const), from: fc.integer({ min: 0, max: 40 }), limit: fc.integer({ min: 1, max: 8 }), backwards: fc.boolean() })
)

/** The simplest possible event store: arrays in memory. */
class ModelStore {
  log: Array<{ position: number; stream: string; version: number; type: string }> = []
  version(stream: string) {
    return this.log.filter((e) => e.stream === stream).length
  }
  append(stream: string, count: number, expected: ExpectedVersion): number | 'conflict' {
    const actual = this.version(stream)
    const ok = expected === 'any' || (expected === 'no-stream' && actual === 0) || (expected === 'exists' && actual > 0) || expected === actual
    if (!ok) return 'conflict'
    for (let i = 0; i < count; i++) this.log.push({ position: this.log.length + 1, stream, version: actual + i + 1, type: `T${i}` })
    return actual + count
  }
}

describe('the SQLite store against an in-memory model', () => {
  it('agrees on every random sequence of appends and reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esw-prop-'))
    let run = 0
    try {
      await fc.assert(
        // Rows settle every few events (or, by default, hardly ever here), so reads meet trailing rows and settles.
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.constantFrom(1, 2, 3, 5, 8, undefined), async (ops, settleEvery) => {
          const store = new SqliteEventStore(join(dir, `p${run++}.db`), { settleEvery })
          const model = new ModelStore()
          try {
            for (const o of ops) {
              if (o.kind === 'append') {
                const stream = `s-${o.stream}`
                const actual = model.version(stream)
                const expected: ExpectedVersion = o.expected === 'exact' ? actual : o.expected === 'stale' ? actual + 1 : o.expected
                const want = model.append(stream, o.count, expected)
                const got = await store
                  .appendToStream(stream, Array.from({ length: o.count }, (_, i) => ({ type: `T${i}`, data: { i } })), { expectedVersion: expected })
                  .then((r) => r.nextExpectedVersion)
                  .catch((e: { code: string }) => (e.code === 'WrongExpectedVersion' ? 'conflict' : e.code))
                expect(got).toEqual(want)
              } else if (o.kind === 'readStream') {
                const stream = `s-${o.stream}`
                const events = model.log.filter((e) => e.stream === stream)
                const want = o.backwards
                  ? events.filter((e) => e.version <= (o.from || Infinity)).reverse().slice(0, o.limit)
                  : events.filter((e) => e.version >= o.from).slice(0, o.limit)
                const page = await store.readStream(stream, { from: o.from || undefined, direction: o.backwards ? 'backwards' : 'forwards', limit: o.limit })
                expect(page.events.map((e) => [e.position, e.version, e.type])).toEqual(want.map((e) => [e.position, e.version, e.type]))
                expect(page.version).toBe(events.length)
              } else {
                const want = o.backwards
                  ? model.log.filter((e) => e.position <= (o.from || Infinity)).reverse().slice(0, o.limit)
                  : model.log.filter((e) => e.position >= o.from).slice(0, o.limit)
                const page = await store.readAll({ from: o.from || undefined, direction: o.backwards ? 'backwards' : 'forwards', limit: o.limit })
                expect(page.events.map((e) => [e.position, e.streamId, e.version])).toEqual(want.map((e) => [e.position, e.stream, e.version]))
                expect(page.headPosition).toBe(model.log.length)
              }
            }
            // What readers see of each stream, and the type counts, agree with the model while rows may trail the log.
            const streams = [...new Set(model.log.map((e) => e.stream))].sort()
            for (const stream of streams) {
              const events = model.log.filter((e) => e.stream === stream)
              expect(await store.streamInfo(stream)).toMatchObject({ version: events.length, eventCount: events.length, lastPosition: events[events.length - 1].position })
            }
            const listed = (await store.listStreams()).streams.map((s) => [s.streamId, s.version, s.eventCount])
            expect(listed.sort()).toEqual(streams.map((id) => [id, model.version(id), model.version(id)]))
            const types = new Map<string, number>()
            for (const e of model.log) types.set(e.type, (types.get(e.type) ?? 0) + 1)
            expect(Object.fromEntries((await store.stats()).eventTypes.map((t) => [t.type, t.events]))).toEqual(Object.fromEntries(types))
            // Settled, every row's type counts agree with the log.
            store.settleStreams()
            const counted = store.db.prepare('SELECT stream_id, types FROM streams ORDER BY stream_id').all() as Array<{ stream_id: string; types: string }>
            const recount = store.db.prepare(`${TYPE_COUNTS_BY_STREAM} ORDER BY stream_id`).all() as Array<{ stream_id: string; types: string }>
            expect(counted.map((r) => [r.stream_id, JSON.parse(r.types)])).toEqual(recount.map((r) => [r.stream_id, JSON.parse(r.types)]))
          } finally {
            await store.close()
          }
        }),
        { numRuns: 150 }
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
