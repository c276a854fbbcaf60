import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { exportEvents, importEvents } from './ndjson'
import { STORE_SCHEMA_VERSION, TYPE_COUNTS_BY_STREAM } from './schema'
import { SqliteEventStore } from './sqlite-store'
import { uuidv7Bytes } from './uuid'

let dir: string
const stores: SqliteEventStore[] = []
const open = (name: string, options: ConstructorParameters<typeof SqliteEventStore>[1] = {}) => {
  const s = new SqliteEventStore(join(dir, `${name}.db`), options)
  stores.push(s)
  return s
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'esw-types-'))
})
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})

const sortTypes = (rows: Array<{ type: string; events: number }>) => [...rows].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))

/**
 * The counters the store keeps agree with the log: stats() event types with a scan, listStreams({ eventType }) with
 * the streams that have such events (live only, and with deleted ones); and what readers see of every stream while
 * rows trail the log is what its row says once settled, whose types equal a recount (checkSettledRows).
 */
async function expectCountsMatchLog(store: SqliteEventStore): Promise<void> {
  const db = store.db
  const scanned = db.prepare('SELECT type, count(*) AS events FROM events GROUP BY type').all() as Array<{ type: string; events: number }>
  const stats = await store.stats()
  expect(sortTypes(stats.eventTypes)).toEqual(sortTypes(scanned))
  expect(stats.eventTypes.reduce((sum, t) => sum + t.events, 0)).toBe(stats.events)
  for (const { type } of scanned) {
    for (const includeDeleted of [false, true]) {
      const want = (
        db
          .prepare(`SELECT DISTINCT e.stream_id AS id FROM events e JOIN streams s USING (stream_id) WHERE e.type = ? ${includeDeleted ? '' : 'AND s.state = 0'}`)
          .all(type) as Array<{ id: string }>
      )
        .map((r) => r.id)
        .sort()
      const got = await store.listStreams({ eventType: type, includeDeleted, limit: 10_000 })
      expect({ type, includeDeleted, streams: got.streams.map((s) => s.streamId).sort() }).toEqual({ type, includeDeleted, streams: want })
      expect(got.total).toBe(want.length)
    }
  }
  expect((await store.listStreams({ eventType: 'NoSuchType' })).total).toBe(0)
  await checkSettledRows(store)
}

/**
 * Settles the rows inside a transaction that is rolled back (the store stays as it was) and checks that readers saw
 * before what the settled rows say, and that every row's types and event count equal a recount of the log.
 */
export async function checkSettledRows(store: SqliteEventStore): Promise<void> {
  const db = store.db
  const listed = (await store.listStreams({ includeDeleted: true, limit: 100_000 })).streams
  const infos = await Promise.all(listed.map((s) => store.streamInfo(s.streamId)))
  const { categories } = await store.stats()
  db.exec('BEGIN IMMEDIATE')
  try {
    store.settleStreams()
    expect((db.prepare('SELECT position FROM streams_settled').get() as { position: number }).position).toBe(store.head())
    const rows = new Map((db.prepare('SELECT * FROM streams').all() as Array<Record<string, unknown> & { stream_id: string; types: string }>).map((r) => [r.stream_id, r]))
    const recount = new Map(
      (db.prepare(TYPE_COUNTS_BY_STREAM).all() as Array<{ stream_id: string; types: string }>).map((r) => [r.stream_id, JSON.parse(r.types) as unknown])
    )
    const counted = new Map((db.prepare('SELECT stream_id, count(*) AS n FROM events GROUP BY stream_id').all() as Array<{ stream_id: string; n: number }>).map((r) => [r.stream_id, r.n]))
    expect(listed.map((s) => s.streamId).sort()).toEqual([...rows.keys()].sort())
    for (const [streamId, row] of rows) {
      expect({ streamId, types: JSON.parse(row.types) as unknown }).toEqual({ streamId, types: recount.get(streamId) ?? {} })
      expect({ streamId, events: row.event_count }).toEqual({ streamId, events: counted.get(streamId) ?? 0 })
    }
    for (const [i, info] of infos.entries()) {
      const row = rows.get(listed[i].streamId)!
      const settled = {
        streamId: row.stream_id,
        version: row.version,
        eventCount: row.event_count,
        firstPosition: row.first_position,
        lastPosition: row.last_position,
        createdAt: row.created_at,
        updatedAt: row.updated_at
      }
      expect(info).toMatchObject(settled)
      expect(listed[i]).toMatchObject(settled)
    }
    expect(await store.stats()).toMatchObject({ categories })
  } finally {
    db.exec('ROLLBACK')
  }
}

/** Schema version 1 as it was shipped (commit 36a5f85 and before, with the two indexes version 2 drops). */
const V1_DDL = `
CREATE TABLE events (
  position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,
  schema_version INTEGER NOT NULL DEFAULT 1, id BLOB NOT NULL, data TEXT NOT NULL, metadata TEXT, recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_stream_version ON events(stream_id, version);
CREATE UNIQUE INDEX events_id ON events(id);
CREATE INDEX events_type ON events(type);
CREATE INDEX events_correlation ON events(json_extract(metadata, '$.correlationId')) WHERE metadata IS NOT NULL;
CREATE TABLE streams (
  stream_id TEXT PRIMARY KEY, category TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, event_count INTEGER NOT NULL DEFAULT 0,
  first_position INTEGER, last_position INTEGER, created_at INTEGER, updated_at INTEGER, state INTEGER NOT NULL DEFAULT 0,
  deleted_before INTEGER NOT NULL DEFAULT 0, metadata TEXT NOT NULL DEFAULT '{}', restricted INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX streams_category ON streams(category);
CREATE INDEX streams_updated ON streams(updated_at DESC, stream_id);
CREATE INDEX streams_restricted ON streams(restricted) WHERE restricted = 1;
CREATE TABLE store_maintenance (id INTEGER PRIMARY KEY CHECK (id = 1), allow_delete INTEGER NOT NULL DEFAULT 0);
INSERT INTO store_maintenance (id, allow_delete) VALUES (1, 0);
CREATE TABLE maintenance_log (at INTEGER NOT NULL, operation TEXT NOT NULL, details TEXT NOT NULL);
CREATE TRIGGER events_immutable_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'stored events are immutable: UPDATE refused'); END;
CREATE TRIGGER events_immutable_delete BEFORE DELETE ON events WHEN (SELECT allow_delete FROM store_maintenance WHERE id = 1) IS NOT 1
BEGIN SELECT RAISE(ABORT, 'stored events are immutable: DELETE refused outside logged maintenance'); END;
PRAGMA user_version = 1;
`

/** Writes a version-1 file the way version-1 code did: events, and stream rows with counts and positions. */
function writeV1(file: string, streams: Record<string, string[]>, extra: (db: Database.Database) => void = () => {}): void {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec(V1_DDL)
  const insert = db.prepare('INSERT INTO events (stream_id, version, type, id, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)')
  const upsert = db.prepare(
    `INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(stream_id) DO UPDATE SET version = excluded.version, event_count = excluded.event_count, last_position = excluded.last_position`
  )
  db.transaction(() => {
    // Interleaved, so a stream's events are not neighbours in the log.
    const longest = Math.max(...Object.values(streams).map((t) => t.length))
    for (let v = 1; v <= longest; v++) {
      for (const [streamId, types] of Object.entries(streams)) {
        if (v > types.length) continue
        const position = Number(insert.run(streamId, v, types[v - 1], uuidv7Bytes(), '{}', 1_700_000_000_000 + v).lastInsertRowid)
        const first = v === 1 ? position : null
        upsert.run(streamId, streamId.split('-')[0], v, v, first, position, 1_700_000_000_000, 1_700_000_000_000 + v)
      }
    }
    extra(db)
  })()
  db.close()
}

const indexes = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name)

describe('per-stream type counts (schema 2 and later)', () => {
  it('a fresh store gets the new layout: streams.types, no type or last-update index, settled rows, a partial id index', () => {
    const store = open('fresh')
    expect(store.db.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION)
    expect(STORE_SCHEMA_VERSION).toBe(3)
    expect((store.db.pragma('table_info(streams)') as Array<{ name: string }>).map((c) => c.name)).toContain('types')
    expect(indexes(store.db)).not.toContain('events_type')
    expect(indexes(store.db)).not.toContain('streams_updated')
    expect(store.db.prepare('SELECT position FROM streams_settled').get()).toEqual({ position: 0 })
    expect((store.db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events_id'").get() as { sql: string }).sql).toMatch(/WHERE length\(id\) = 16$/)
    // The stored DDL stays editable by a later migration (a comma in a column comment breaks DROP COLUMN).
    store.db.exec('SAVEPOINT probe; ALTER TABLE streams DROP COLUMN types; ROLLBACK TO probe; RELEASE probe;')
  })

  it('migrates a version-1 database on open: types backfilled, indexes dropped, stats and stream lists right', async () => {
    const file = join(dir, 'v1.db')
    writeV1(
      file,
      {
        'order-1': ['OrderPlaced', 'ItemAdded', 'ItemAdded', 'OrderShipped'],
        'order-2': ['OrderPlaced', 'ItemAdded'],
        'cart-1': ['CartOpened', 'ItemAdded', 'ItemAdded', 'ItemAdded'],
        'odd-1': ['__proto__', 'a.b', 'say "hi"', 'über', '__proto__']
      },
      (db) => {
        // A stream with metadata and no events, and a soft-deleted one.
        db.prepare("INSERT INTO streams (stream_id, category, metadata, created_at, updated_at) VALUES ('empty-1', 'empty', '{\"maxCount\":3}', 1, 1)").run()
        db.prepare("UPDATE streams SET state = 1, deleted_before = 3, restricted = 1 WHERE stream_id = 'order-2'").run()
      }
    )
    const store = open('v1')
    const db = store.db
    expect(db.pragma('user_version', { simple: true })).toBe(3)
    expect(indexes(db)).not.toContain('events_type')
    expect(indexes(db)).not.toContain('streams_updated')
    const types = (id: string) => JSON.parse((db.prepare('SELECT types FROM streams WHERE stream_id = ?').get(id) as { types: string }).types) as unknown
    expect(types('order-1')).toEqual({ OrderPlaced: 1, ItemAdded: 2, OrderShipped: 1 })
    expect(types('cart-1')).toEqual({ CartOpened: 1, ItemAdded: 3 })
    expect(types('empty-1')).toEqual({})
    expect(Object.entries(types('odd-1') as object)).toEqual(expect.arrayContaining([['__proto__', 2], ['a.b', 1], ['say "hi"', 1], ['über', 1]]))
    const stats = await store.stats()
    expect(stats.events).toBe(15)
    expect(stats.eventTypes[0]).toEqual({ type: 'ItemAdded', events: 6 })
    expect((await store.listStreams({ eventType: 'ItemAdded' })).streams.map((s) => s.streamId).sort()).toEqual(['cart-1', 'order-1'])
    expect((await store.listStreams({ eventType: 'ItemAdded', includeDeleted: true })).total).toBe(3)
    expect((await store.listStreams({ eventType: '__proto__' })).streams.map((s) => s.streamId)).toEqual(['odd-1'])
    await expectCountsMatchLog(store)

    // Appends after the migration keep counting, including odd type names.
    await store.appendToStream('odd-1', [{ type: '__proto__', data: {} }, { type: 'constructor', data: {} }])
    await store.appendToStream('empty-1', [{ type: 'ItemAdded', data: {} }])
    await store.appendToStream('order-2', [{ type: 'OrderReopened', data: {} }])
    // A type new to a stream is found before its row settles, and counted once it has.
    expect((await store.listStreams({ eventType: 'constructor' })).streams.map((s) => s.streamId)).toEqual(['odd-1'])
    await expectCountsMatchLog(store)
    store.settleStreams()
    expect(types('odd-1')).toMatchObject({ __proto__: 3, constructor: 1 })
    await expectCountsMatchLog(store)

    // Opening again (and by a second connection) changes nothing.
    const again = open('v1')
    expect(again.db.pragma('user_version', { simple: true })).toBe(3)
    await expectCountsMatchLog(again)
  })

  it('migrates a version-1 database written after the indexes were dropped', async () => {
    const file = join(dir, 'v1b.db')
    writeV1(file, { 'a-1': ['X', 'Y', 'X'] }, (db) => db.exec('DROP INDEX events_type; DROP INDEX streams_updated;'))
    const store = open('v1b')
    expect(JSON.parse((store.db.prepare("SELECT types FROM streams WHERE stream_id = 'a-1'").get() as { types: string }).types)).toEqual({ X: 2, Y: 1 })
    await expectCountsMatchLog(store)
  })

  it('refuses a database of a newer schema', () => {
    const file = join(dir, 'newer.db')
    const db = new Database(file)
    db.pragma('user_version = 99')
    db.close()
    expect(() => open('newer')).toThrow(/newer Event Workbench \(schema 99\)/)
  })

  it('keeps counts right through appends, metadata, deletes and stream creation without events', async () => {
    const store = open('appends')
    await store.setStreamMetadata('meta-1', { maxCount: 2 })
    await store.appendToStream('meta-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }, { type: 'A', data: {} }])
    await store.appendToStream('s-1', [{ type: 'A', data: {} }])
    await store.appendToStream('s-1', [{ type: 'C', data: {} }], { expectedVersion: 1 })
    await expect(store.appendToStream('s-1', [{ type: 'Z', data: {} }], { expectedVersion: 0 })).rejects.toMatchObject({ code: 'WrongExpectedVersion' })
    const id = '0190a5c8-0000-7000-8000-000000000001'
    await store.appendToStream('s-2', [{ id, type: 'D', data: {} }])
    expect((await store.appendToStream('s-2', [{ id, type: 'D', data: {} }])).duplicate).toBe(true)
    await store.deleteStream('gone-1', { mode: 'tombstone' })
    await store.appendToStream('soft-1', [{ type: 'E', data: {} }])
    await store.deleteStream('soft-1')
    await expectCountsMatchLog(store)
    expect((await store.stats()).eventTypes).toEqual([
      { type: 'A', events: 3 },
      { type: 'B', events: 1 },
      { type: 'C', events: 1 },
      { type: 'D', events: 1 },
      { type: 'E', events: 1 }
    ])
  })

  it('keeps stats and listStreams by type right after importing (restore, append, repeat)', async () => {
    const source = open('source')
    for (let i = 0; i < 30; i++) {
      await source.appendToStream(`order-${i % 4}`, [
        { type: 'OrderPlaced', data: { i } },
        { type: i % 3 === 0 ? 'OrderShipped' : 'ItemAdded', data: { i } }
      ])
    }
    await source.appendToStream('cart-1', [{ type: 'CartOpened', data: {} }])
    let text = ''
    await exportEvents(source, {}, (chunk) => {
      text += chunk
    })
    const lines = text.split('\n').filter(Boolean)

    const restored = open('restored')
    await importEvents(restored, lines)
    await expectCountsMatchLog(restored)
    expect((await restored.stats()).eventTypes).toEqual((await source.stats()).eventTypes)

    // Into a non-empty store: an existing stream gets more events of its types and new ones, then a repeat is skipped.
    const target = open('target')
    await target.appendToStream('order-1', [{ type: 'Legacy', data: {} }, { type: 'OrderPlaced', data: {} }])
    const renumbered = lines
      .map((l) => JSON.parse(l) as { streamId: string; version: number; id: string })
      .filter((e) => e.streamId === 'order-1' || e.streamId === 'cart-1')
      .map((e) => JSON.stringify(e.streamId === 'order-1' ? { ...e, version: e.version + 2 } : e))
    expect(await importEvents(target, renumbered)).toMatchObject({ mode: 'append', skipped: 0 })
    await expectCountsMatchLog(target)
    expect(await importEvents(target, renumbered)).toMatchObject({ events: 0 })
    await expectCountsMatchLog(target)
    expect((await target.listStreams({ eventType: 'Legacy' })).streams.map((s) => s.streamId)).toEqual(['order-1'])
    expect((await target.listStreams({ eventType: 'CartOpened' })).streams.map((s) => s.streamId)).toEqual(['cart-1'])

    // A failed import leaves the counters as they were.
    const before = target.db.prepare('SELECT stream_id, types FROM streams ORDER BY stream_id').all()
    await expect(importEvents(target, [...renumbered.map((l) => l.replace('"cart-1"', '"cart-2"')), 'not json'])).rejects.toMatchObject({ code: 'InvalidInput' })
    expect(target.db.prepare('SELECT stream_id, types FROM streams ORDER BY stream_id').all()).toEqual(before)
  })

  it('keeps stats and listStreams by type right after scavenge', async () => {
    let now = 1_800_000_000_000
    const store = open('scavenge', { now: () => now })
    const ev = (type: string) => ({ type, data: {} })
    await store.appendToStream('keep-1', [ev('A'), ev('B')])
    await store.appendToStream('trunc-1', [ev('Old'), ev('Old'), ev('E'), ev('E')])
    await store.setStreamMetadata('trunc-1', { truncateBefore: 3 })
    await store.appendToStream('gone-1', [ev('A'), ev('Gone')])
    await store.deleteStream('gone-1', { mode: 'tombstone' })
    await store.appendToStream('soft-1', [ev('Soft')])
    await store.deleteStream('soft-1', { mode: 'soft' })
    await store.appendToStream('aged-1', [ev('Aged'), ev('Aged')])
    now += 10_000
    await store.appendToStream('aged-1', [ev('Fresh')])
    await store.setStreamMetadata('aged-1', { maxAge: 5 })
    await store.appendToStream('keep-1', [ev('Z')])
    await expectCountsMatchLog(store)
    expect((await store.listStreams({ eventType: 'Gone', includeDeleted: true })).total).toBe(1)

    const report = await store.scavenge()
    expect(report.removedEvents).toBe(2 + 2 + 1 + 2)
    await expectCountsMatchLog(store)
    const types = (await store.stats()).eventTypes
    expect(types.map((t) => t.type).sort()).toEqual(['A', 'B', 'E', 'Fresh', 'Z'])
    expect(types.find((t) => t.type === 'A')).toEqual({ type: 'A', events: 1 })
    for (const gone of ['Old', 'Gone', 'Soft', 'Aged']) expect((await store.listStreams({ eventType: gone, includeDeleted: true })).total).toBe(0)
    expect((await store.listStreams({ eventType: 'E' })).streams.map((s) => s.streamId)).toEqual(['trunc-1'])

    // Appends after scavenge continue from the recounted row.
    await store.appendToStream('trunc-1', [ev('E'), ev('Old')])
    await expectCountsMatchLog(store)
    expect((await store.listStreams({ eventType: 'Old' })).streams.map((s) => s.streamId)).toEqual(['trunc-1'])
    store.settleStreams()
    expect(JSON.parse((store.db.prepare("SELECT types FROM streams WHERE stream_id = 'trunc-1'").get() as { types: string }).types)).toEqual({ E: 3, Old: 1 })
  })
})
