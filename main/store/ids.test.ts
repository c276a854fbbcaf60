import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewEvent } from '../../shared/model/events'
import { exportEvents, importEvents } from './ndjson'
import { STORE_SCHEMA_VERSION } from './schema'
import { SqliteEventStore, type SqliteStoreOptions } from './sqlite-store'
import { MAX_ID_POSITION, bytesToUuid, positionOfId, positionalIdBytes, positionalIds, uuidToBytes, uuidv7Bytes } from './uuid'

// Ids the store makes carry the event's position and stay out of the id index (uuid.ts, positionalIdBytes).

let dir: string
const stores: SqliteEventStore[] = []
const open = (name: string, options: SqliteStoreOptions = {}) => {
  const s = new SqliteEventStore(join(dir, `${name}.db`), options)
  stores.push(s)
  return s
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-ids-'))
})
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})

const ev = (type: string, extra: Partial<NewEvent> = {}): NewEvent => ({ type, data: {}, ...extra })
const indexed = (store: SqliteEventStore) => (store.db.prepare('SELECT count(*) AS n FROM events INDEXED BY events_id WHERE length(id) = 16').get() as { n: number }).n
const exportText = async (store: SqliteEventStore) => {
  let text = ''
  await exportEvents(store, {}, (chunk) => {
    text += chunk
  })
  return text.split('\n').filter(Boolean)
}

describe('positional ids', () => {
  it('carry time and position in a UUIDv7 layout, sort by position within a millisecond, and read back', () => {
    const time = 1_750_000_000_123
    const ids = [1, 2, 3, 1_000_000, MAX_ID_POSITION].map((p) => positionalIdBytes(time, p)!)
    for (const [i, p] of [1, 2, 3, 1_000_000, MAX_ID_POSITION].entries()) {
      const id = ids[i]
      expect(id).toHaveLength(17)
      expect(id[16]).toBe(0)
      expect(positionOfId(id)).toBe(p)
      expect(id.readUIntBE(0, 6)).toBe(time)
      expect(bytesToUuid(id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(positionOfId(uuidToBytes(bytesToUuid(id)))).toBe(p)
    }
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1].compare(ids[i], 0, 16, 0, 16)).toBeLessThan(0)
    expect(positionalIdBytes(time, MAX_ID_POSITION + 1)).toBeNull()
    expect(positionalIdBytes(-1, 5)).toBeNull()
    expect(positionalIdBytes(2 ** 48, 5)).toBeNull()
  })

  it('made for a batch in one buffer: slot i is the id of position first + i, with random bits of its own', () => {
    const time = 1_750_000_000_456
    const first = 2 ** 22 - 2 // the positions cross from the low 22 bits into the high ones
    const ids = positionalIds(time, first, 250)!
    expect(ids).toHaveLength(17 * 250)
    const randoms = new Set<string>()
    for (let i = 0; i < 250; i++) {
      const id = ids.subarray(17 * i, 17 * i + 17)
      expect(id[16]).toBe(0)
      expect(id.readUIntBE(0, 6)).toBe(time)
      expect(positionOfId(id)).toBe(first + i)
      expect(bytesToUuid(id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      if (i > 0) expect(ids.compare(id, 0, 16, 17 * (i - 1), 17 * (i - 1) + 16)).toBeLessThan(0) // the one before sorts first
      randoms.add(id.subarray(12, 16).toString('hex'))
    }
    expect(randoms.size).toBe(250)
    expect(positionalIds(time, MAX_ID_POSITION - 1, 2)).not.toBeNull()
    expect(positionalIds(time, MAX_ID_POSITION - 1, 3)).toBeNull()
    expect(positionalIds(1.5, 1, 1)).toBeNull()
  })

  it('an event appended without an id gets one that carries its position and time, outside the id index', async () => {
    const store = open('made', { now: () => 1_750_000_000_000 })
    await store.appendToStream('s-1', [ev('A'), ev('B')])
    const given = randomUUID()
    await store.appendToStream('s-1', [ev('C', { id: given })])
    const events = (await store.readStream('s-1')).events
    for (const e of events.slice(0, 2)) {
      const bytes = uuidToBytes(e.id)
      expect(positionOfId(bytes)).toBe(e.position)
      expect(bytes.readUIntBE(0, 6)).toBe(e.recordedAt)
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/)
      expect(await store.readEvent({ id: e.id })).toEqual(e)
    }
    expect(events[2].id).toBe(given)
    expect(indexed(store)).toBe(1)
    expect(store.findEventById(uuidToBytes(given))?.position).toBe(3)
    expect(store.findEventById(uuidToBytes(randomUUID()))).toBeUndefined()
    // The id of an event at a position, with another time, is not that event's id.
    const other = positionalIdBytes(1_750_000_000_001, 1)!.subarray(0, 16)
    expect(store.findEventById(other)).toBeUndefined()
  })

  it('a made id given again is a repeat in its own stream and at its own versions, and refused anywhere else', async () => {
    const store = open('repeat')
    const first = await store.appendToStream('s-1', [ev('A'), ev('B')])
    const stored = (await store.readStream('s-1')).events
    const again = stored.map((e) => ev(e.type, { id: e.id }))
    expect(await store.appendToStream('s-1', again, { expectedVersion: 0 })).toEqual({ ...first, duplicate: true })
    await expect(store.appendToStream('s-2', [ev('A', { id: stored[0].id })])).rejects.toMatchObject({ code: 'DuplicateEventId' })
    await expect(store.appendToStream('s-2', [ev('X', { id: randomUUID() }), ev('A', { id: stored[1].id })])).rejects.toMatchObject({
      code: 'DuplicateEventId',
      details: { index: 1 }
    })
    await expect(store.appendToStream('s-1', [again[0], ev('C', { id: randomUUID() })])).rejects.toMatchObject({ code: 'DuplicateEventId' })
    expect(await store.headPosition()).toBe(2)
  })

  it('a given id that carries a coming position and the same millisecond is stored beside the made one', async () => {
    const time = 1_750_000_000_000
    const store = open('same-ms', { now: () => time })
    await store.appendToStream('s-1', [ev('A')])
    // Given ids shaped like the ids positions 2 and 3 would get now (random parts differ).
    const near = [2, 3].map((p) => bytesToUuid(positionalIdBytes(time, p)!))
    await store.appendToStream('s-2', [ev('G', { id: near[1] })])
    await store.appendToStream('s-3', [ev('M'), ev('N')])
    const all = (await store.readAll({ limit: 10 })).events
    expect(all.map((e) => e.position)).toEqual([1, 2, 3, 4])
    expect(new Set(all.map((e) => e.id)).size).toBe(4)
    for (const e of all) expect(await store.readEvent({ id: e.id })).toEqual(e)
    expect(all[1].id).toBe(near[1])
  })

  it('an id carrying a position past 2^40, or a clock outside the UUIDv7 range, falls back to an indexed UUIDv7', async () => {
    const store = open('clock', { now: () => -5 })
    await store.appendToStream('s-1', [ev('A')])
    const [e] = (await store.readStream('s-1')).events
    expect(indexed(store)).toBe(1)
    expect(await store.readEvent({ id: e.id })).toEqual(e)
  })

  it('export and import keep made ids; importing them again is skipped, into another stream it is refused', async () => {
    const source = open('source')
    await source.appendToStream('order-1', [ev('A'), ev('B')])
    await source.appendToStream('order-2', [ev('C')])
    const lines = await exportText(source)
    const restored = open('restored')
    expect(await importEvents(restored, lines)).toMatchObject({ mode: 'restore', events: 3 })
    expect(await exportText(restored)).toEqual(lines)
    // Restored ids are given ones now: indexed, and found.
    expect(indexed(restored)).toBe(3)
    for (const line of lines) {
      const { id, position } = JSON.parse(line) as { id: string; position: number }
      expect((await restored.readEvent({ id }))?.position).toBe(position)
    }
    // Into the store that made them: already there, skipped; into another stream: refused.
    expect(await importEvents(source, lines)).toMatchObject({ mode: 'append', events: 0, skipped: 3 })
    const moved = lines.map((l) => JSON.parse(l) as { streamId: string; version: number }).filter((e) => e.streamId === 'order-2').map((e) => JSON.stringify({ ...e, streamId: 'order-9' }))
    await expect(importEvents(source, moved)).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('already stored elsewhere') })
    expect(await source.headPosition()).toBe(3)
  })
})

/** Schema version 2 as it was shipped (commit cba32c0 and before): a full id index, no streams_settled. */
const V2_DDL = `
CREATE TABLE events (
  position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,
  schema_version INTEGER NOT NULL DEFAULT 1, id BLOB NOT NULL, data TEXT NOT NULL, metadata TEXT, recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_stream_version ON events(stream_id, version);
CREATE UNIQUE INDEX events_id ON events(id);
CREATE INDEX events_correlation ON events(json_extract(metadata, '$.correlationId')) WHERE metadata IS NOT NULL;
CREATE TABLE streams (
  stream_id TEXT PRIMARY KEY, category TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, event_count INTEGER NOT NULL DEFAULT 0,
  first_position INTEGER, last_position INTEGER, created_at INTEGER, updated_at INTEGER, state INTEGER NOT NULL DEFAULT 0,
  deleted_before INTEGER NOT NULL DEFAULT 0, metadata TEXT NOT NULL DEFAULT '{}', restricted INTEGER NOT NULL DEFAULT 0,
  types TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE INDEX streams_category ON streams(category);
CREATE INDEX streams_restricted ON streams(restricted) WHERE restricted = 1;
CREATE TABLE store_maintenance (id INTEGER PRIMARY KEY CHECK (id = 1), allow_delete INTEGER NOT NULL DEFAULT 0);
INSERT INTO store_maintenance (id, allow_delete) VALUES (1, 0);
CREATE TABLE maintenance_log (at INTEGER NOT NULL, operation TEXT NOT NULL, details TEXT NOT NULL);
CREATE TRIGGER events_immutable_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'stored events are immutable: UPDATE refused'); END;
CREATE TRIGGER events_immutable_delete BEFORE DELETE ON events WHEN (SELECT allow_delete FROM store_maintenance WHERE id = 1) IS NOT 1
BEGIN SELECT RAISE(ABORT, 'stored events are immutable: DELETE refused outside logged maintenance'); END;
PRAGMA user_version = 2;
`

describe('schema 3', () => {
  it('migrates a version-2 database on open: the id index keeps every stored id, rows are settled at the head', async () => {
    const file = join(dir, 'v2.db')
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    db.exec(V2_DDL)
    const ids: string[] = []
    const insert = db.prepare('INSERT INTO events (stream_id, version, type, id, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)')
    for (let v = 1; v <= 3; v++) {
      const id = uuidv7Bytes()
      ids.push(bytesToUuid(id))
      insert.run('order-1', v, v === 2 ? 'B' : 'A', id, '{}', 1_700_000_000_000 + v)
    }
    db.prepare(
      `INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, types) VALUES ('order-1', 'order', 3, 3, 1, 3, 1700000000001, 1700000000003, '{"A":2,"B":1}')`
    ).run()
    db.close()

    const store = open('v2')
    expect(store.db.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION)
    expect((store.db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events_id'").get() as { sql: string }).sql).toMatch(/WHERE length\(id\) = 16$/)
    expect(indexed(store)).toBe(3)
    expect(store.db.prepare('SELECT position FROM streams_settled').get()).toEqual({ position: 3 })
    for (const [i, id] of ids.entries()) expect((await store.readEvent({ id }))?.version).toBe(i + 1)
    await expect(store.appendToStream('order-2', [ev('A', { id: ids[0] })])).rejects.toMatchObject({ code: 'DuplicateEventId' })
    expect((await store.appendToStream('order-1', [ev('A', { id: ids[2] })], { expectedVersion: 2 })).duplicate).toBe(true)
    await store.appendToStream('order-1', [ev('A')], { expectedVersion: 3 })
    expect(await store.streamInfo('order-1')).toMatchObject({ version: 4, eventCount: 4, lastPosition: 4 })
    expect((await store.stats()).eventTypes).toEqual([
      { type: 'A', events: 3 },
      { type: 'B', events: 1 }
    ])
    // Opened again, nothing changes.
    const again = open('v2')
    expect(indexed(again)).toBe(3)
    expect(await again.streamInfo('order-1')).toMatchObject({ version: 4 })
  })
})
