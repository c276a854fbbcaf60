/**
 * Copying a whole log between the SQLite and the PostgreSQL store, in either direction, exactly: every stored event
 * (also those that stream metadata or deletes hide) with its position, id, version, type, schema version, data and
 * metadata as stored and recording time; every stream row (version, counts, state, metadata); the head. The target
 * must be empty; the copy is one transaction there (all or nothing), and is verified by reading both logs back.
 */
import { RpcError } from '../../shared/rpc/errors'
import { TYPE_COUNTS_BY_STREAM } from './schema'
import type pg from 'pg'
import { inPgTransaction, type PostgresEventStore } from './postgres-store'
import type { SqliteEventStore } from './sqlite-store'
import { bytesToUuid, uuidToBytes } from './uuid'

/** One stored event as both stores keep it (data and metadata as JSON text, untouched). */
export interface StoredEvent {
  position: number
  streamId: string
  version: number
  type: string
  schemaVersion: number
  id: string
  data: string
  metadata: string | null
  recordedAt: number
}

export interface StoredStream {
  streamId: string
  category: string
  version: number
  eventCount: number
  firstPosition: number | null
  lastPosition: number | null
  createdAt: number | null
  updatedAt: number | null
  state: number
  deletedBefore: number
  /** JSON text. */
  metadata: string
  restricted: boolean
}

/** Raw access to a store's log, for copying. */
export interface LogSide {
  readonly kind: 'sqlite' | 'postgres'
  head(): Promise<number>
  /** Stored events after a position, in position order. */
  events(after: number, limit: number): Promise<StoredEvent[]>
  /** Every stream row, or the one of `only`. */
  streams(only?: string): Promise<StoredStream[]>
  /** Writes a whole log into this (empty) store in one transaction. */
  restore(streams: StoredStream[], events: (sink: (page: StoredEvent[]) => Promise<void>) => Promise<void>, head: number): Promise<void>
}

const PAGE = 2000

export function sqliteSide(store: SqliteEventStore): LogSide {
  const db = store.db
  const eventsAfter = db.prepare<[number, number], { position: number; stream_id: string; version: number; type: string; schema_version: number; id: Buffer; data: string; metadata: string | null; recorded_at: number }>(
    'SELECT position, stream_id, version, type, schema_version, id, data, metadata, recorded_at FROM events WHERE position > ? ORDER BY position LIMIT ?'
  )
  return {
    kind: 'sqlite',
    head: async () => store.head(),
    events: async (after, limit) =>
      eventsAfter.all(after, limit).map((r) => ({
        position: r.position,
        streamId: r.stream_id,
        version: r.version,
        type: r.type,
        schemaVersion: r.schema_version,
        id: bytesToUuid(r.id),
        data: r.data,
        metadata: r.metadata,
        recordedAt: r.recorded_at
      })),
    streams: async (only) => {
      // Stream rows may trail the log between settles: bring them up to date before reading them as they are.
      store.settleStreams()
      const rows = (
        db
          .prepare(
            'SELECT stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, state, deleted_before, metadata, restricted FROM streams ORDER BY stream_id'
          )
          .all() as Array<Record<string, unknown>>
      ).map((r) => ({
        streamId: r.stream_id as string,
        category: r.category as string,
        version: r.version as number,
        eventCount: r.event_count as number,
        firstPosition: r.first_position as number | null,
        lastPosition: r.last_position as number | null,
        createdAt: r.created_at as number | null,
        updatedAt: r.updated_at as number | null,
        state: r.state as number,
        deletedBefore: r.deleted_before as number,
        metadata: r.metadata as string,
        restricted: r.restricted === 1
      }))
      return only === undefined ? rows : rows.filter((r) => r.streamId === only)
    },
    restore: async (streams, events, head) => {
      const insertEvent = db.prepare('INSERT INTO events (position, stream_id, version, type, schema_version, id, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      const insertStream = db.prepare(
        `INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, state, deleted_before, metadata, restricted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      )
      db.exec('BEGIN IMMEDIATE')
      let committed = false
      try {
        assertEmpty(store.head() === 0 && (db.prepare('SELECT count(*) AS n FROM streams').get() as { n: number }).n === 0, 'the SQLite store')
        let last = 0
        await events(async (page) => {
          for (const e of page) {
            insertEvent.run(e.position, e.streamId, e.version, e.type, e.schemaVersion, uuidToBytes(e.id), e.data, e.metadata, e.recordedAt)
            last = e.position
          }
        })
        if (last !== head) throw new RpcError('Internal', `The source's head is ${head} but its last stored event is at ${last}; SQLite keeps the head as its last row`)
        for (const s of streams) {
          insertStream.run(s.streamId, s.category, s.version, s.eventCount, s.firstPosition, s.lastPosition, s.createdAt, s.updatedAt, s.state, s.deletedBefore, s.metadata, s.restricted ? 1 : 0)
        }
        // The per-stream type counts, as the SQLite schema computes them.
        db.exec(`UPDATE streams SET types = t.types FROM (${TYPE_COUNTS_BY_STREAM}) AS t WHERE t.stream_id = streams.stream_id`)
        db.exec('COMMIT')
        committed = true
      } finally {
        if (!committed && db.inTransaction) db.exec('ROLLBACK')
      }
    }
  }
}

function assertEmpty(empty: boolean, what: string) {
  if (!empty) throw new RpcError('InvalidInput', `The target (${what}) is not empty: a copy goes into an empty store only`)
}

/**
 * The PostgreSQL store's log. `reader` reads it (default: the store's pool); a client inside a REPEATABLE READ
 * transaction reads one snapshot, so head, stream rows and events agree while others append.
 */
export function postgresSide(store: PostgresEventStore, reader: Pick<pg.PoolClient, 'query'> = store.pool): LogSide {
  const pool = reader
  return {
    kind: 'postgres',
    head: async () => Number((await pool.query<{ position: string | number }>('SELECT position FROM store_head WHERE id = 1')).rows[0].position),
    events: async (after, limit) =>
      (
        await pool.query<StoredEvent>(
          `SELECT position, stream_id AS "streamId", version, type, schema_version AS "schemaVersion", id::text AS id, data::text AS data,
                  metadata::text AS metadata, recorded_at AS "recordedAt" FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
          [after, limit]
        )
      ).rows,
    streams: async (only) =>
      (
        await pool.query<StoredStream>(
          `SELECT stream_id AS "streamId", category, version, event_count AS "eventCount", first_position AS "firstPosition",
                  last_position AS "lastPosition", created_at AS "createdAt", updated_at AS "updatedAt", state, deleted_before AS "deletedBefore",
                  metadata::text AS metadata, restricted FROM streams ${only === undefined ? '' : 'WHERE stream_id = $1'} ORDER BY stream_id`,
          only === undefined ? [] : [only]
        )
      ).rows,
    restore: (streams, events, head) =>
      inPgTransaction(store.pool, async (client) => {
        await client.query('SELECT esw_lock()')
        const { rows } = await client.query<{ head: number; streams: number }>(
          'SELECT (SELECT position FROM store_head WHERE id = 1) AS head, (SELECT count(*) FROM streams) AS streams'
        )
        assertEmpty(rows[0].head === 0 && rows[0].streams === 0, 'the PostgreSQL store')
        await events(async (page) => {
          if (page.length === 0) return
          const col = <K extends keyof StoredEvent>(k: K) => page.map((e) => e[k])
          await client.query(
            `INSERT INTO events (position, stream_id, version, type, schema_version, id, data, metadata, recorded_at)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[], $6::uuid[], $7::json[], $8::json[], $9::bigint[])`,
            [col('position'), col('streamId'), col('version'), col('type'), col('schemaVersion'), col('id'), col('data'), col('metadata'), col('recordedAt')]
          )
      })
      const col = <K extends keyof StoredStream>(k: K) => streams.map((s) => s[k])
      await client.query(
        `INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, state, deleted_before, metadata, restricted)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::smallint[], $10::int[], $11::jsonb[], $12::boolean[])`,
        [
          col('streamId'),
          col('category'),
          col('version'),
          col('eventCount'),
          col('firstPosition'),
          col('lastPosition'),
          col('createdAt'),
          col('updatedAt'),
          col('state'),
          col('deletedBefore'),
          col('metadata'),
          col('restricted')
        ]
      )
      await client.query('INSERT INTO stream_types (stream_id, type, count) SELECT stream_id, type, count(*) FROM events GROUP BY stream_id, type')
      await client.query('UPDATE store_head SET position = $1 WHERE id = 1', [head])
      })
  }
}

export interface CopyReport {
  events: number
  streams: number
  headPosition: number
  /** Every event and stream row compared between the two stores after the copy. */
  verified: true
  perStream: Array<{ streamId: string; events: number }>
}

/** Copies `from` into the empty `to`, then reads both back and compares them; throws naming the first difference. */
export async function copyLog(from: LogSide, to: LogSide, onProgress?: (done: number, total: number) => void): Promise<CopyReport> {
  const head = await from.head()
  const streams = await from.streams()
  let copied = 0
  await to.restore(
    streams,
    async (sink) => {
      let after = 0
      for (;;) {
        const page = await from.events(after, PAGE)
        if (page.length === 0) break
        await sink(page)
        copied += page.length
        after = page[page.length - 1].position
        onProgress?.(after, head)
      }
    },
    head
  )
  return verifyCopy(from, to, copied)
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** A JSON value with its object keys sorted (PostgreSQL's jsonb keeps stream metadata in its own key order). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])])
    )
  }
  return value
}

/** Reads both logs in position order and compares every event, every stream row and the head. */
export async function verifyCopy(from: LogSide, to: LogSide, expectedEvents?: number): Promise<CopyReport> {
  const differ = (what: string): never => {
    throw new RpcError('Internal', `Copy verification failed: ${what}`)
  }
  const [headA, headB] = [await from.head(), await to.head()]
  if (headA !== headB) differ(`head position ${headA} in the source, ${headB} in the target`)
  const [streamsA, streamsB] = [await from.streams(), await to.streams()]
  if (streamsA.length !== streamsB.length) differ(`${streamsA.length} streams in the source, ${streamsB.length} in the target`)
  const normal = (s: StoredStream) => ({ ...s, metadata: sortedKeys(JSON.parse(s.metadata)) })
  for (let i = 0; i < streamsA.length; i++) {
    if (!same(normal(streamsA[i]), normal(streamsB[i]))) differ(`stream ${streamsA[i].streamId}: ${JSON.stringify(streamsA[i])} became ${JSON.stringify(streamsB[i])}`)
  }
  const counts = new Map<string, number>()
  let after = 0
  let events = 0
  for (;;) {
    const [a, b] = [await from.events(after, PAGE), await to.events(after, PAGE)]
    if (a.length !== b.length) differ(`after position ${after}: ${a.length} events in the source's page, ${b.length} in the target's`)
    if (a.length === 0) break
    for (let i = 0; i < a.length; i++) {
      if (!same(a[i], b[i])) differ(`at position ${a[i].position}: ${JSON.stringify(a[i]).slice(0, 300)} became ${JSON.stringify(b[i]).slice(0, 300)}`)
      counts.set(a[i].streamId, (counts.get(a[i].streamId) ?? 0) + 1)
    }
    events += a.length
    after = a[a.length - 1].position
  }
  if (expectedEvents !== undefined && events !== expectedEvents) differ(`${expectedEvents} events copied, ${events} read back`)
  for (const s of streamsB) {
    if ((counts.get(s.streamId) ?? 0) !== s.eventCount) differ(`stream ${s.streamId} counts ${s.eventCount} events but stores ${counts.get(s.streamId) ?? 0}`)
  }
  return {
    events,
    streams: streamsA.length,
    headPosition: headA,
    verified: true,
    perStream: [...counts].map(([streamId, n]) => ({ streamId, events: n }))
  }
}
