import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewEvent } from '../../shared/model/events'
import { exportEvents, importEvents } from './ndjson'
import { TYPE_COUNTS_BY_STREAM } from './schema'
import { SqliteEventStore, type SqliteStoreOptions } from './sqlite-store'

// Stream rows settle in bulk (schema.ts): an append writes its stream's row only when it creates the stream, revives
// it or brings a new type; readers add what a row trails. These tests hold rows trailing on purpose.

let dir: string
const stores: SqliteEventStore[] = []
const open = (name: string, options: SqliteStoreOptions = {}) => {
  const s = new SqliteEventStore(join(dir, `${name}.db`), options)
  stores.push(s)
  return s
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-settle-'))
})
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})

const ev = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ type, data })
type Row = { stream_id: string; version: number; event_count: number; last_position: number | null; updated_at: number | null; state: number; types: string }
const row = (store: SqliteEventStore, streamId: string) => store.db.prepare('SELECT * FROM streams WHERE stream_id = ?').get(streamId) as Row
const settledAt = (store: SqliteEventStore) => (store.db.prepare('SELECT position FROM streams_settled').get() as { position: number }).position
const trailing = (store: SqliteEventStore) => (store.db.prepare('SELECT trailing FROM streams_settled').get() as { trailing: number }).trailing

describe('stream rows that trail the log', () => {
  it('an append writes the row when it creates the stream or revives it; otherwise the row trails', async () => {
    let now = 1_000
    const store = open('a', { now: () => now })
    await store.appendToStream('order-1', [ev('A'), ev('B')])
    expect(row(store, 'order-1')).toMatchObject({ version: 2, event_count: 2, last_position: 2, updated_at: 1_000 })
    now = 2_000
    await store.appendToStream('order-1', [ev('A'), ev('B'), ev('A')], { expectedVersion: 2 })
    now = 3_000
    await store.appendToStream('order-1', [ev('C'), ev('A')], { expectedVersion: 5 })
    // The row stays as it was; readers see the stream as it is.
    expect(row(store, 'order-1')).toMatchObject({ version: 2, event_count: 2, last_position: 2, updated_at: 1_000, types: '{"A":1,"B":1}' })
    expect(await store.streamInfo('order-1')).toMatchObject({ version: 7, eventCount: 7, firstPosition: 1, lastPosition: 7, createdAt: 1_000, updatedAt: 3_000 })
    expect((await store.readStream('order-1')).version).toBe(7)
    expect(store.streamVersion('order-1')).toBe(7)
    expect((await store.listStreams()).streams[0]).toMatchObject({ streamId: 'order-1', version: 7, eventCount: 7, lastPosition: 7, updatedAt: 3_000 })
    expect((await store.listStreams({ eventType: 'C' })).streams.map((s) => s.streamId)).toEqual(['order-1'])
    expect((await store.listStreams({ eventType: 'C' })).total).toBe(1)
    expect((await store.stats()).eventTypes).toEqual([
      { type: 'A', events: 4 },
      { type: 'B', events: 2 },
      { type: 'C', events: 1 }
    ])
    await expect(store.appendToStream('order-1', [ev('A')], { expectedVersion: 2 })).rejects.toMatchObject({ code: 'WrongExpectedVersion', details: { actual: 7 } })

    // A soft-deleted stream is revived by an append that writes its row, with what it trailed.
    await store.appendToStream('order-1', [ev('A')])
    await store.deleteStream('order-1')
    expect(row(store, 'order-1')).toMatchObject({ version: 8, event_count: 8, state: 1 })
    await store.appendToStream('order-1', [ev('A')], { expectedVersion: 8 })
    await store.appendToStream('order-1', [ev('D')], { expectedVersion: 9 })
    await store.deleteStream('order-1', { expectedVersion: 10 })
    store.db.prepare("UPDATE streams_settled SET position = 8, trailing = 1").run()
    store.db.prepare("UPDATE streams SET version = 8, event_count = 8, types = '{\"A\":5,\"B\":2,\"C\":1}' WHERE stream_id = 'order-1'").run()
    // (the row made to trail again by hand: versions 9 and 10 unsettled) the revival brings them in.
    now = 4_000
    await store.appendToStream('order-1', [ev('E')], { expectedVersion: 10 })
    expect(row(store, 'order-1')).toMatchObject({ version: 11, event_count: 11, last_position: 11, updated_at: 4_000, state: 0 })
    expect(JSON.parse(row(store, 'order-1').types)).toEqual({ A: 6, B: 2, C: 1, D: 1, E: 1 })
    expect((await store.readStream('order-1')).events.map((e) => e.version)).toEqual([11])
  })

  it('lists, pages and counts streams by what they are now, trailing rows included', async () => {
    let now = 1_000
    const store = open('list', { now: () => now })
    for (const id of ['cart-1', 'cart-2', 'order-1', 'order-2']) {
      await store.appendToStream(id, [ev('Opened')])
      now += 1_000
    }
    // cart-1 is the oldest by its row, but its newest event is the newest of all.
    await store.appendToStream('cart-1', [ev('Opened'), ev('Opened')])
    await store.appendToStream('order-2', [ev('Opened')])
    now += 1_000
    await store.appendToStream('cart-1', [ev('Opened')])
    const ids: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await store.listStreams({ limit: 1, after })
      ids.push(...page.streams.map((s) => s.streamId))
      if (!page.next) break
      after = page.next
    }
    expect(ids).toEqual(['cart-1', 'order-2', 'order-1', 'cart-2'])
    const stats = await store.stats()
    expect(stats.categories).toEqual([
      { category: 'cart', streams: 2, events: 5 },
      { category: 'order', streams: 2, events: 3 }
    ])
    expect(stats.eventTypes).toEqual([{ type: 'Opened', events: 8 }])
    expect((await store.listStreams({ eventType: 'Opened' })).total).toBe(4)
    expect(row(store, 'cart-1')).toMatchObject({ version: 1 })
  })

  it('maxCount counts from the stream as it is, not from its row', async () => {
    const store = open('max')
    await store.appendToStream('s-1', [ev('E', { n: 1 }), ev('E', { n: 2 })])
    await store.setStreamMetadata('s-1', { maxCount: 2 })
    await store.appendToStream('s-1', [ev('E', { n: 3 }), ev('E', { n: 4 }), ev('E', { n: 5 })])
    expect(row(store, 's-1').version).toBe(2)
    expect((await store.readStream('s-1')).events.map((e) => e.version)).toEqual([4, 5])
    expect((await store.readStream('s-1', { direction: 'backwards' })).events.map((e) => e.version)).toEqual([5, 4])
    expect((await store.readAll({ limit: 10 })).events.map((e) => e.version)).toEqual([4, 5])
    expect(await store.readEvent({ position: 3 })).toBeNull()
    expect(await store.readEvent({ position: 5 })).toMatchObject({ version: 5 })
    expect(JSON.parse(store.readStreamJson('s-1').json).map((e: { version: number }) => e.version)).toEqual([4, 5])
    expect((await store.setStreamMetadata('s-1', { maxCount: 3 })).version).toBe(5)
  })

  it('settles every row about every settleEvery events, and on demand', async () => {
    const store = open('every', { settleEvery: 10 })
    await store.appendToStream('a-1', [ev('X')])
    await store.appendToStream('b-1', [ev('X')])
    expect(trailing(store)).toBe(0)
    for (let i = 0; i < 7; i++) await store.appendToStream(i % 2 ? 'a-1' : 'b-1', [ev('X')])
    expect(settledAt(store)).toBe(0)
    expect(trailing(store)).toBe(1)
    expect(row(store, 'a-1').version).toBe(1)
    await store.appendToStream('a-1', [ev('X')])
    expect(settledAt(store)).toBe(10)
    expect(trailing(store)).toBe(0)
    expect(row(store, 'a-1')).toMatchObject({ version: 5, event_count: 5, last_position: 10, types: '{"X":5}' })
    expect(row(store, 'b-1')).toMatchObject({ version: 5, event_count: 5, last_position: 9, types: '{"X":5}' })
    await store.appendToStream('a-1', [ev('X')])
    store.settleStreams()
    expect(settledAt(store)).toBe(11)
    expect(row(store, 'a-1')).toMatchObject({ version: 6, last_position: 11 })
  })

  it('appends that only create streams leave no row trailing: settling moves the position, readers read no tail', async () => {
    const store = open('creates', { settleEvery: 5 })
    for (let i = 0; i < 12; i++) await store.appendToStream(`s-${i}`, [ev('X'), ev(`T${i % 3}`)])
    expect(trailing(store)).toBe(0)
    expect(settledAt(store)).toBe(24)
    expect((await store.listStreams({ eventType: 'T1' })).total).toBe(4)
    expect((await store.stats()).eventTypes).toEqual([
      { type: 'X', events: 12 },
      { type: 'T0', events: 4 },
      { type: 'T1', events: 4 },
      { type: 'T2', events: 4 }
    ])
    await store.appendToStream('s-0', [ev('T9')])
    expect(trailing(store)).toBe(1)
    expect((await store.listStreams({ eventType: 'T9' })).streams.map((s) => s.streamId)).toEqual(['s-0'])
    expect((await store.listStreams()).streams[0]).toMatchObject({ streamId: 's-0', version: 3, eventCount: 3, lastPosition: 25 })
  })

  it('a store opened on a long tail settles at its first append', async () => {
    const first = open('reopen', { settleEvery: 1000 })
    await first.appendToStream('a-1', [ev('X')])
    for (let i = 0; i < 6; i++) await first.appendToStream('a-1', [ev('X')])
    await first.close()
    const again = open('reopen', { settleEvery: 5 })
    expect(settledAt(again)).toBe(0)
    await again.appendToStream('a-1', [ev('X')])
    expect(settledAt(again)).toBe(8)
    expect(row(again, 'a-1')).toMatchObject({ version: 8, event_count: 8 })
  })

  it('another connection sees a trailing stream as it is, and expected versions stay exact across connections', async () => {
    const one = open('shared', { pollIntervalMs: 20 })
    const two = open('shared', { pollIntervalMs: 20 })
    await one.appendToStream('s-1', [ev('A')])
    await one.appendToStream('s-1', [ev('A'), ev('A')], { expectedVersion: 1 })
    expect(await two.streamInfo('s-1')).toMatchObject({ version: 3, eventCount: 3 })
    await two.appendToStream('s-1', [ev('A')], { expectedVersion: 3 })
    await expect(one.appendToStream('s-1', [ev('A')], { expectedVersion: 3 })).rejects.toMatchObject({ code: 'WrongExpectedVersion', details: { actual: 4 } })
    await one.appendToStream('s-1', [ev('B')], { expectedVersion: 4 })
    expect(await two.streamInfo('s-1')).toMatchObject({ version: 5, eventCount: 5 })
    expect((await two.listStreams({ eventType: 'B' })).total).toBe(1)
    two.settleStreams()
    expect(JSON.parse(row(one, 's-1').types)).toEqual({ A: 4, B: 1 })
  })

  it('deletes act on the stream as it is: a soft delete hides every event and its time is the last update', async () => {
    let now = 1_000
    const store = open('delete', { now: () => now })
    await store.appendToStream('s-1', [ev('A')])
    now = 2_000
    await store.appendToStream('s-1', [ev('A'), ev('A')])
    await expect(store.deleteStream('s-1', { expectedVersion: 1 })).rejects.toMatchObject({ code: 'WrongExpectedVersion', details: { actual: 3 } })
    now = 3_000
    const info = await store.deleteStream('s-1', { expectedVersion: 3 })
    expect(info).toMatchObject({ version: 3, eventCount: 3, state: 'deleted', updatedAt: 3_000 })
    expect((await store.listStreams({ includeDeleted: true })).streams[0]).toMatchObject({ version: 3, updatedAt: 3_000 })
    expect((await store.readStream('s-1')).events).toEqual([])
    await store.appendToStream('s-1', [ev('A')], { expectedVersion: 3 })
    expect((await store.readStream('s-1')).events.map((e) => e.version)).toEqual([4])
    await store.appendToStream('t-1', [ev('A')])
    await store.appendToStream('t-1', [ev('A')])
    await store.deleteStream('t-1', { mode: 'tombstone', expectedVersion: 2 })
    await expect(store.appendToStream('t-1', [ev('A')])).rejects.toMatchObject({ code: 'StreamDeleted' })
  })

  it('import into a store with trailing rows follows the streams as they are, and leaves every row settled', async () => {
    const source = open('source')
    for (let i = 0; i < 5; i++) await source.appendToStream('s-1', [ev('A', { i })])
    let text = ''
    await exportEvents(source, {}, (chunk) => {
      text += chunk
    })
    const lines = text.split('\n').filter(Boolean)
    const target = open('target')
    await target.appendToStream('s-1', [ev('A'), ev('A')])
    await target.appendToStream('s-1', [ev('A')])
    expect(row(target, 's-1').version).toBe(2)
    const renumbered = lines.map((l) => JSON.parse(l) as { version: number }).map((e) => JSON.stringify({ ...e, version: e.version + 3 }))
    expect(await importEvents(target, renumbered)).toMatchObject({ events: 5, mode: 'append' })
    expect(row(target, 's-1')).toMatchObject({ version: 8, event_count: 8, types: '{"A":8}' })
    expect(settledAt(target)).toBe(target.head())
    expect(await importEvents(target, renumbered)).toMatchObject({ events: 0, skipped: 5 })
  })

  it('scavenge settles first, so counts of removed events never come back', async () => {
    const store = open('scavenge')
    await store.appendToStream('s-1', [ev('A'), ev('B')])
    await store.appendToStream('s-1', [ev('A'), ev('A'), ev('B')])
    await store.setStreamMetadata('s-1', { maxCount: 2 })
    await store.appendToStream('s-1', [ev('A')])
    await store.appendToStream('keep-1', [ev('K')])
    const report = await store.scavenge()
    expect(report.removedEvents).toBe(4)
    expect(row(store, 's-1')).toMatchObject({ version: 6, event_count: 2 })
    expect(JSON.parse(row(store, 's-1').types)).toEqual({ A: 1, B: 1 })
    await store.appendToStream('s-1', [ev('A')])
    store.settleStreams()
    const recount = store.db.prepare(`${TYPE_COUNTS_BY_STREAM} ORDER BY stream_id`).all() as Array<{ stream_id: string; types: string }>
    expect(recount.map((r) => [r.stream_id, JSON.parse(r.types)])).toEqual([
      ['keep-1', { K: 1 }],
      ['s-1', { A: 2, B: 1 }]
    ])
    expect(row(store, 's-1')).toMatchObject({ version: 7, event_count: 3 })
  })
})
