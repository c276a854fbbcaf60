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
