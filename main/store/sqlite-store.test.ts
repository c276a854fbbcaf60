import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { SqliteEventStore } from './sqlite-store'
import { describeEventStoreConformance } from './store.conformance'

function tempFile() {
  const dir = mkdtempSync(join(tmpdir(), 'esw-store-'))
  return { dir, file: join(dir, 'events.db') }
}

describeEventStoreConformance('SQLite', async () => {
  const { dir, file } = tempFile()
  let now = Date.now()
  const store = new SqliteEventStore(file, { now: () => now, pollIntervalMs: 20 })
  return {
    store,
    advanceClock: (ms) => (now += ms),
    openAnother: async () => new SqliteEventStore(file, { pollIntervalMs: 20 }),
    dispose: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
})

describe('SQLite store specifics', () => {
  it('refuses UPDATE and DELETE on stored events at the database level', async () => {
    const { dir, file } = tempFile()
    const store = new SqliteEventStore(file)
    await store.appendToStream('s-1', [{ type: 'A', data: {} }])
    const raw = new Database(file)
    expect(() => raw.prepare("UPDATE events SET type = 'B'").run()).toThrow(/immutable/)
    expect(() => raw.prepare('DELETE FROM events').run()).toThrow(/immutable/)
    raw.close()
    expect((await store.readStream('s-1')).events[0].type).toBe('A')
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('stores an append of more events than one statement takes at consecutive positions and versions, or none', async () => {
    const { dir, file } = tempFile()
    const store = new SqliteEventStore(file)
    await store.appendToStream('other-1', [{ type: 'A', data: {} }])
    await store.appendToStream('s-1', [1, 2, 3].map((n) => ({ type: 'A', data: { n } })))
    const many = Array.from({ length: 250 }, (_, n) => ({ type: n % 2 ? 'B' : 'C', data: { n }, id: randomUUID() }))
    expect(await store.appendToStream('s-1', many, { expectedVersion: 3 })).toMatchObject({ firstPosition: 5, lastPosition: 254, nextExpectedVersion: 253 })
    const stored = (await store.readStream('s-1', { from: 4, limit: 1000 })).events
    expect(stored.map((e) => [e.position, e.version, e.id, (e.data as { n: number }).n])).toEqual(many.map((e, i) => [5 + i, 4 + i, e.id, i]))
    // A given id already stored, in the second statement's part of the append: named at its index, nothing stored.
    const again = Array.from({ length: 150 }, (_, n) => ({ type: 'D', data: { n }, ...(n === 120 ? { id: many[7].id } : {}) }))
    await expect(store.appendToStream('s-2', again)).rejects.toMatchObject({ code: 'DuplicateEventId', details: { index: 120, id: many[7].id } })
    expect(await store.headPosition()).toBe(254)
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('never reuses a position after the newest events were scavenged', async () => {
    const { dir, file } = tempFile()
    const store = new SqliteEventStore(file)
    await store.appendToStream('s-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }])
    await store.deleteStream('s-1', { mode: 'tombstone' })
    await store.scavenge()
    const next = await store.appendToStream('s-2', [{ type: 'C', data: {} }])
    expect(next.firstPosition).toBe(3)
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
