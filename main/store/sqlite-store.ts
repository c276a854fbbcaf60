import { EventEmitter } from 'node:events'
import { statSync } from 'node:fs'
import Database from 'better-sqlite3'
import { RpcError } from '../../shared/rpc/errors'
import {
  categoryOf,
  type AppendResult,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
  type StreamInfo,
  type StreamMetadata
} from '../../shared/model/events'
import type { StoreStats } from '../../shared/contract/store'
import { applySchema } from './schema'
import { startSubscription } from './subscription'
import type {
  AllPage,
  AppendedNotice,
  EventStore,
  ListStreamsOptions,
  ProgressOptions,
  ReadAllOptions,
  ReadStreamOptions,
  ScavengeReport,
  StreamPage,
  SubscribeOptions,
  Subscription
} from './types'
import { bytesToUuid, isUuid, positionalIds, positionOfId, uuidToBytes, uuidv7Bytes } from './uuid'
import { checkStreamId, checkNewEvent, type PreparedEvent } from './validation'
import {
  STATE_DELETED,
  STATE_LIVE,
  STATE_TOMBSTONED,
  hiddenReason,
  isRestricted,
  isVisible,
  stateName,
  visibilityRule,
  type VisibilityRule
} from './visibility'

export interface SqliteStoreOptions {
  /** How often another process's appends are looked for while someone listens (ms). */
  pollIntervalMs?: number
  /** A clock for recordedAt and maxAge (tests move it). */
  now?: () => number
  /**
   * How long a write waits for another writer before SQLITE_BUSY (ms). The app's main thread uses a short one and
   * retries asynchronously, so a long import in a worker never freezes the window.
   */
  busyTimeoutMs?: number
  /** better-sqlite3 built for another runtime (Electron). */
  nativeBinding?: string
  /** Events appended after the last settle before an append settles trailing stream rows (default SETTLE_EVERY; tests lower it). */
  settleEvery?: number
  readonly?: boolean
}

/** Extras of an append made by the workbench itself (inline projections). */
export interface AppendHooks {
  /** The recording time to store (default: the store's clock now). */
  recordedAt?: number
  /** Runs inside the append's transaction after the events are stored (not for a repeated append); throwing rolls it back. */
  inTransaction?: (result: AppendResult, recordedAt: number) => void
  /**
   * The position of the first event (default: after the head). A working copy stores its server's positions, which
   * may leave a gap where the server scavenged or imported one; never at or below the head.
   */
  firstPosition?: number
}

export interface EventRow {
  position: number
  stream_id: string
  version: number
  type: string
  schema_version: number
  id: Buffer
  data: string
  metadata: string | null
  recorded_at: number
}

/** A row of the streams table, brought up to the stream's newest event (see currentStream). */
interface StreamRow {
  stream_id: string
  category: string
  version: number
  event_count: number
  first_position: number | null
  last_position: number | null
  created_at: number | null
  updated_at: number | null
  state: number
  deleted_before: number
  metadata: string
  restricted: number
  /** {type: count} of the stream's stored events up to the row's settled version, as JSON. */
  types: string
}

/** A streams row as stored, with the stream's newest event when the row trails it (schema.ts, on settling). */
interface StoredStreamRow extends StreamRow {
  head_version: number | null
  head_position: number | null
  head_recorded_at: number | null
}

/** A stored row with what it trails added: the stream as a fully settled row would show it (types aside). */
function currentStream(row: StoredStreamRow): StreamRow {
  const head = row.head_version
  if (head === null || head <= row.version) return row
  return { ...row, version: head, event_count: row.event_count + head - row.version, last_position: row.head_position, updated_at: row.head_recorded_at }
}

/**
 * About how many events appends add between two settles of the trailing stream rows (one UPDATE that reads the
 * events after the settled position). Settling costs about 1 µs per event it brings into a row (its type is read
 * back), plus about 5 µs per trailing row, against about 6 µs for writing a row's page with every append; readers
 * that list or count streams read the unsettled events (at 10,000 streams, 8,000 of them add about 5 ms to a stream
 * list and 10 ms to stats). Measured at 500 streams: 2.3 µs per appended event settling every 4,000, 1.2 every 8,000.
 */
export const SETTLE_EVERY = 8000

/** Events per INSERT statement of a batch append (one statement per size up to it is prepared on first use). */
const ROWS_PER_INSERT = 100

/**
 * The streams table with trailing rows brought up to date, for reading many streams at once: the events after the
 * settled position, grouped by stream (at most about SETTLE_EVERY of them), joined to the rows they are newer than.
 */
const CURRENT_STREAMS = `
  WITH tail AS MATERIALIZED (
    SELECT stream_id, max(version) AS v, max(position) AS p FROM events NOT INDEXED
    WHERE (SELECT trailing FROM streams_settled WHERE id = 1) AND position > (SELECT position FROM streams_settled WHERE id = 1) GROUP BY stream_id
  )
  SELECT s.stream_id, s.category,
    CASE WHEN t.v > s.version THEN t.v ELSE s.version END AS version,
    CASE WHEN t.v > s.version THEN s.event_count + t.v - s.version ELSE s.event_count END AS event_count,
    s.first_position,
    CASE WHEN t.v > s.version THEN t.p ELSE s.last_position END AS last_position,
    s.created_at,
    CASE WHEN t.v > s.version THEN (SELECT recorded_at FROM events WHERE position = t.p) ELSE s.updated_at END AS updated_at,
    s.state, s.deleted_before, s.metadata, s.restricted, s.types
  FROM streams AS s LEFT JOIN tail AS t ON t.stream_id = s.stream_id`

/** One stream's stored row and, when the row trails, the stream's newest event. */
const STORED_STREAM = `
  SELECT s.*, h.version AS head_version, h.position AS head_position, h.recorded_at AS head_recorded_at
  FROM streams AS s LEFT JOIN events AS h
    ON h.stream_id = s.stream_id AND h.version = (SELECT max(version) FROM events WHERE stream_id = s.stream_id) AND h.version > s.version`

const EVENT_COLUMNS = 'position, stream_id, version, type, schema_version, id, data, metadata, recorded_at'

/** The ids of an append's events (idsFor): made ones in one buffer, 17 bytes each; a 16-byte own id instead where not null. */
interface AppendIds {
  made: Buffer | null
  own: Array<Buffer | null>
}

/**
 * A row of EVENT_COLUMNS as an array (better-sqlite3 raw mode). $all is read this way: building row objects in
 * the native layer costs about 0.9 µs per row of the 2.8 µs a row takes to fetch (measured, 100,000 rows).
 */
type EventTuple = [position: number, streamId: string, version: number, type: string, schemaVersion: number, id: Buffer, data: string, metadata: string | null, recordedAt: number]

function tupleToRecordedEvent(t: EventTuple): RecordedEvent {
  return {
    position: t[0],
    streamId: t[1],
    version: t[2],
    type: t[3],
    schemaVersion: t[4],
    id: bytesToUuid(t[5]),
    data: JSON.parse(t[6]) as Record<string, unknown>,
    metadata: t[7] === null ? null : (JSON.parse(t[7]) as Record<string, unknown>),
    recordedAt: t[8]
  }
}

function tupleToRow(t: EventTuple): EventRow {
  return { position: t[0], stream_id: t[1], version: t[2], type: t[3], schema_version: t[4], id: t[5], data: t[6], metadata: t[7], recorded_at: t[8] }
}
const BUSY_TIMEOUT_MS = 60_000

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    schemaVersion: row.schema_version,
    id: bytesToUuid(row.id),
    data: JSON.parse(row.data) as Record<string, unknown>,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    recordedAt: row.recorded_at
  }
}

function toStreamInfo(row: StreamRow): StreamInfo {
  return {
    streamId: row.stream_id,
    category: row.category,
    version: row.version,
    eventCount: row.event_count,
    firstPosition: row.first_position,
    lastPosition: row.last_position,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    state: stateName(row.state),
    metadata: JSON.parse(row.metadata) as StreamMetadata
  }
}

/**
 * A stream's {type: count} JSON plus the types of new events. A plain object (about twice as fast as a Map for the
 * one-event append); a type named __proto__, which an assignment would not store as a key, takes the Map way.
 */
export function addTypeCounts(json: string | null, events: ReadonlyArray<{ type: string }>): string {
  const counts = (json === null || json === '{}' ? {} : JSON.parse(json)) as Record<string, number>
  for (const { type } of events) {
    if (type === '__proto__') return addTypeCountsSafely(json, events)
    counts[type] = Object.hasOwn(counts, type) ? counts[type] + 1 : 1
  }
  return JSON.stringify(counts)
}

function addTypeCountsSafely(json: string | null, events: ReadonlyArray<{ type: string }>): string {
  const counts = new Map<string, number>(json === null ? undefined : Object.entries(JSON.parse(json) as Record<string, number>))
  for (const { type } of events) counts.set(type, (counts.get(type) ?? 0) + 1)
  return JSON.stringify(Object.fromEntries(counts))
}

/** A stream's {type: count} JSON plus counts per type (kept in a Map: any type name, __proto__ included). */
function addTypeCountPairs(json: string, pairs: ReadonlyArray<readonly [type: string, count: number]>): string {
  const counts = new Map<string, number>(json === '{}' ? undefined : Object.entries(JSON.parse(json) as Record<string, number>))
  for (const [type, n] of pairs) counts.set(type, (counts.get(type) ?? 0) + n)
  return JSON.stringify(Object.fromEntries(counts))
}

function describeExpected(expected: ExpectedVersion): string {
  return typeof expected === 'number' ? String(expected) : `'${expected}'`
}

/** Opens a better-sqlite3 connection the way every part of the workbench does (WAL, waits when busy). */
export function openDatabase(file: string, options: { nativeBinding?: string; readonly?: boolean } = {}): Database.Database {
  const nativeBinding = options.nativeBinding ?? process.env.ESW_SQLITE_BINDING
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS, readonly: options.readonly ?? false, ...(nativeBinding ? { nativeBinding } : {}) })
  if (!options.readonly) {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
  }
  db.pragma('foreign_keys = ON')
  db.pragma('cache_size = -65536')
  return db
}

/** The SQLite event store: one file, many readers, one writer at a time across processes. */
export class SqliteEventStore implements EventStore {
  readonly db: Database.Database
  readonly file: string
  private readonly now: () => number
  private readonly emitter = new EventEmitter()
  private readonly pollIntervalMs: number
  private pollTimer: NodeJS.Timeout | null = null
  private knownHead = 0
  private dataVersion = 0
  private closed = false
  private readonly subscriptions = new Set<Subscription>()
  private readonly shortBusyTimeout: boolean
  private readonly settleEvery: number
  /** Events appended through this connection since it last found the rows settled, plus what trailed at open. */
  private unsettled = 0
  private idBoundsAt = Number.NaN
  private idBounds: [Buffer, Buffer] = [Buffer.alloc(16), Buffer.alloc(16)]
  /** One transaction wrapper, reused: better-sqlite3 builds a new one per db.transaction() call. */
  private readonly runInTransaction: Database.Transaction<(fn: () => unknown) => unknown>
  private readonly insertStatements = new Map<number, Database.Statement<unknown[]>>()
  private readonly filterStatements = new Map<string, { forwards: Database.Statement<unknown[], EventTuple>; backwards: Database.Statement<unknown[], EventTuple> }>()

  private readonly q: ReturnType<SqliteEventStore['prepare']>

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.file = file
    this.now = options.now ?? Date.now
    this.pollIntervalMs = options.pollIntervalMs ?? 100
    this.db = openDatabase(file, options)
    this.shortBusyTimeout = (options.busyTimeoutMs ?? BUSY_TIMEOUT_MS) < 1000
    this.settleEvery = options.settleEvery ?? SETTLE_EVERY
    if (options.busyTimeoutMs !== undefined) this.db.pragma(`busy_timeout = ${options.busyTimeoutMs}`)
    if (!options.readonly) applySchema(this.db)
    this.q = this.prepare()
    this.runInTransaction = this.db.transaction((fn: () => unknown) => fn())
    this.emitter.setMaxListeners(0)
    this.knownHead = this.head()
    if (!options.readonly) this.unsettled = this.knownHead - this.q.settled.get()![0]
    this.dataVersion = this.db.pragma('data_version', { simple: true }) as number
  }

  private prepare() {
    const db = this.db
    return {
      stream: db.prepare<[string], StoredStreamRow>(`${STORED_STREAM} WHERE s.stream_id = ?`),
      /**
       * What an append needs, in one statement: the row's version and state, the stream's newest version, the head of
       * the log, whether any given id has the append's millisecond (then the ids it makes are checked) and whether a
       * row trails already.
       */
      appendHead: db
        .prepare<
          [string, Buffer, Buffer, string],
          [rowVersion: number | null, state: number | null, headVersion: number | null, head: number | null, givenThisMs: number, trailing: number]
        >(
          `SELECT s.version, s.state, (SELECT max(version) FROM events WHERE stream_id = ?), (SELECT max(position) FROM events),
             EXISTS (SELECT 1 FROM events WHERE id >= ? AND id < ? AND length(id) = 16), (SELECT trailing FROM streams_settled WHERE id = 1)
           FROM (SELECT 1) LEFT JOIN streams AS s ON s.stream_id = ?`
        )
        .raw(true),
      /** Given (16-byte) ids in a range: the ids an append makes must not be among them. */
      givenIdsBetween: db.prepare<[Buffer, Buffer], Buffer>('SELECT id FROM events WHERE id >= ? AND id <= ? AND length(id) = 16').pluck(),
      /** The row's types, and the counts by type of the events it trails (a revived stream's row is written with them). */
      rowTypes: db.prepare<[string], string>('SELECT types FROM streams WHERE stream_id = ?').pluck(),
      tailTypes: db.prepare<[string, number], [type: string, count: number]>('SELECT type, count(*) FROM events WHERE stream_id = ? AND version > ? GROUP BY type').raw(true),
      settled: db.prepare<[], [position: number, trailing: number]>('SELECT position, trailing FROM streams_settled WHERE id = 1').raw(true),
      setSettled: db.prepare('UPDATE streams_settled SET position = ?, trailing = 0 WHERE id = 1'),
      setTrailing: db.prepare('UPDATE streams_settled SET trailing = 1 WHERE id = 1'),
      /** Brings every row that trails the events after a position up to date (see settleStreams). */
      settleRows: db.prepare<[number]>(
        `WITH t AS (SELECT stream_id, max(version) AS v, max(position) AS p FROM events NOT INDEXED WHERE position > ? GROUP BY stream_id)
         UPDATE streams SET
           types = (SELECT json_group_object(k, n) FROM (
             SELECT k, sum(n) AS n FROM (
               SELECT key AS k, value AS n FROM json_each(streams.types)
               UNION ALL SELECT type, count(*) FROM events WHERE stream_id = streams.stream_id AND version > streams.version GROUP BY type
             ) GROUP BY k)),
           event_count = event_count + t.v - version,
           last_position = t.p,
           updated_at = (SELECT recorded_at FROM events WHERE position = t.p),
           version = t.v
         FROM t WHERE t.stream_id = streams.stream_id AND t.v > streams.version`
      ),
      insertEventAt: db.prepare(
        'INSERT INTO events (position, stream_id, version, type, schema_version, id, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
      ),
      createStream: db.prepare(
        'INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, types) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
      ),
      advanceStream: db.prepare(
        'UPDATE streams SET version = ?, event_count = event_count + ?, first_position = coalesce(first_position, ?), last_position = ?, updated_at = ?, types = ?, state = CASE state WHEN 1 THEN 0 ELSE state END WHERE stream_id = ?'
      ),
      eventByGivenId: db.prepare<[Buffer], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ? AND length(id) = 16`),
      eventByPosition: db.prepare<[number], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position = ?`),
      streamForwards: db
        .prepare<[string, number, number], EventTuple>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?`)
        .raw(true),
      streamBackwards: db
        .prepare<[string, number, number], EventTuple>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version <= ? ORDER BY version DESC LIMIT ?`)
        .raw(true),
      allForwards: db.prepare<[number, number], EventTuple>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?`).raw(true),
      allBackwards: db.prepare<[number, number], EventTuple>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position <= ? ORDER BY position DESC LIMIT ?`).raw(true),
      head: db.prepare<[], { head: number | null }>('SELECT max(position) AS head FROM events'),
      restricted: db.prepare<[], StoredStreamRow>(`${STORED_STREAM} WHERE s.restricted = 1`),
      setStreamMeta: db.prepare('UPDATE streams SET metadata = ?, restricted = ? WHERE stream_id = ?'),
      setStreamState: db.prepare('UPDATE streams SET state = ?, deleted_before = ?, restricted = ?, updated_at = ? WHERE stream_id = ?')
    }
  }

  // ---------------------------------------------------------------- writing

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion?: ExpectedVersion } & AppendHooks = {}): Promise<AppendResult> {
    // With a short busy timeout (the app's main process), wait for another writer without blocking the thread.
    for (;;) {
      try {
        return this.appendSync(streamId, events, options.expectedVersion ?? 'any', options)
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }

  /** The synchronous core of an append; one IMMEDIATE transaction, so the version check is exact across processes. */
  appendSync(streamId: string, events: NewEvent[], expected: ExpectedVersion, hooks?: AppendHooks): AppendResult {
    this.assertOpen()
    checkStreamId(streamId)
    const count = events.length
    if (count === 0) throw new RpcError('InvalidInput', `Append to stream ${streamId}: no events given`, { streamId })
    const prepared: PreparedEvent[] = new Array(count)
    for (let i = 0; i < count; i++) prepared[i] = checkNewEvent(events[i], streamId, i, false)
    const result = this.writeTransaction(() => this.appendInTransaction(streamId, prepared, expected, hooks))
    if (!result.duplicate) {
      if (result.lastPosition! > this.knownHead) this.knownHead = result.lastPosition!
      if (this.emitter.listenerCount('appended') > 0) this.emitter.emit('appended', {
        streamId,
        firstPosition: result.firstPosition!,
        lastPosition: result.lastPosition!,
        count,
        types: [...new Set(prepared.map((p) => p.type))]
      } satisfies AppendedNotice)
    }
    return result
  }

  /**
   * Per call: one statement for the stream's state and version, one INSERT per event, and the stream's row only
   * when the append creates the stream or revives it (schema.ts, on settling).
   */
  private appendInTransaction(streamId: string, prepared: PreparedEvent[], expected: ExpectedVersion, hooks: AppendHooks | undefined): AppendResult {
    const now = hooks?.recordedAt ?? this.now()
    const [low, high] = this.millisecondIds(now)
    const [rowVersion, state, headVersion, head, givenThisMs, trailing] = this.q.appendHead.get(streamId, low, high, streamId)!
    if (prepared[0].idGiven) {
      const repeat = this.checkRepeat(streamId, prepared)
      if (repeat) return repeat
    }
    if (state === STATE_TOMBSTONED) {
      throw new RpcError('StreamDeleted', `Stream ${streamId} is tombstoned: appends are refused for good`, { streamId })
    }
    const settledVersion = rowVersion ?? 0
    const actual = headVersion !== null && headVersion > settledVersion ? headVersion : settledVersion
    if (
      !(
        expected === 'any' ||
        expected === actual ||
        (expected === 'no-stream' && actual === 0) ||
        (expected === 'exists' && actual > 0)
      )
    ) {
      throw new RpcError(
        'WrongExpectedVersion',
        `Wrong expected version for stream ${streamId}: expected ${describeExpected(expected)}, actual ${actual}`,
        { streamId, expected, actual }
      )
    }
    const count = prepared.length
    const firstPosition = hooks?.firstPosition ?? (head ?? 0) + 1
    if (firstPosition <= (head ?? 0)) throw new RpcError('Conflict', `Append to ${streamId} at position ${firstPosition}: the log is already at ${head}`, { streamId })
    const lastPosition = firstPosition + count - 1
    const ids = this.idsFor(streamId, prepared, now, firstPosition, head ?? 0, givenThisMs === 1)
    if (count === 1) {
      const e = prepared[0]
      try {
        this.q.insertEventAt.run(firstPosition, streamId, actual + 1, e.type, e.schemaVersion, ids.own[0] ?? ids.made!, e.data, e.metadata, now)
      } catch (error) {
        throw this.duplicateIdError(error, streamId, prepared, ids.own, 0, 1)
      }
    } else {
      // Up to ROWS_PER_INSERT events per statement: one call into SQLite, one stream id and one buffer of made ids
      // bound per statement (a row's own id, when it has one, instead of its slice of that buffer).
      for (let start = 0; start < count; start += ROWS_PER_INSERT) {
        const rows = Math.min(ROWS_PER_INSERT, count - start)
        const args: unknown[] = new Array(5 + rows * 5)
        args[0] = firstPosition + start
        args[1] = streamId
        args[2] = actual + start + 1
        args[3] = now
        args[4] = ids.made ? ids.made.subarray(17 * start, 17 * (start + rows)) : null
        for (let i = 0, a = 5; i < rows; i++, a += 5) {
          const e = prepared[start + i]
          args[a] = e.type
          args[a + 1] = e.schemaVersion
          args[a + 2] = ids.own[start + i]
          args[a + 3] = e.data
          args[a + 4] = e.metadata
        }
        try {
          this.insertRows(rows).run(args)
        } catch (error) {
          throw this.duplicateIdError(error, streamId, prepared, ids.own, start, rows)
        }
      }
    }
    const version = actual + count
    if (rowVersion === null) {
      this.q.createStream.run(streamId, categoryOf(streamId), version, count, firstPosition, lastPosition, now, now, addTypeCounts(null, prepared))
    } else if (state !== STATE_LIVE) {
      // A soft-deleted stream is revived now, its row brought up to date (the types of what it trailed are read back,
      // the new events' included).
      const types = this.q.rowTypes.get(streamId)!
      const counted = actual > settledVersion ? addTypeCountPairs(types, this.q.tailTypes.all(streamId, settledVersion)) : addTypeCounts(types, prepared)
      this.q.advanceStream.run(version, version - settledVersion, firstPosition, lastPosition, now, counted, streamId)
    } else if (trailing === 0) {
      // The first row to trail since the last settle says so (one write per settle, not per append).
      this.q.setTrailing.run()
    }
    // Settling is due about every settleEvery events: counted here, checked against the database when the count
    // says so (other connections append and settle too).
    this.unsettled += count
    if (this.unsettled >= this.settleEvery) {
      const [settled, anyTrailing] = this.q.settled.get()!
      this.unsettled = lastPosition - settled
      if (this.unsettled >= this.settleEvery) this.settleRows(settled, anyTrailing === 1, lastPosition)
    }
    const appended: AppendResult = { streamId, nextExpectedVersion: version, firstPosition, lastPosition, duplicate: false }
    if (hooks?.inTransaction) hooks.inTransaction(appended, now)
    return appended
  }

  /**
   * Brings every stream row that trails the log up to date and moves the settled position to the head. Appends do
   * it about every SETTLE_EVERY events; writes that read stream rows directly (import, scavenge, deletes) do it
   * first. Runs in the caller's transaction, or in its own.
   */
  settleStreams(): void {
    const settle = () => {
      const head = this.head()
      const [settled, trailing] = this.q.settled.get()!
      if (head > settled) this.settleRows(settled, trailing === 1, head)
    }
    if (this.db.inTransaction) settle()
    else this.writeTransaction(settle)
  }

  private settleRows(settled: number, trailing: boolean, head: number): void {
    if (trailing) this.q.settleRows.run(settled)
    this.q.setSettled.run(head)
    this.unsettled = 0
  }

  /** The statement inserting `rows` events of one stream at consecutive positions and versions (cached per size). */
  private insertRows(rows: number): Database.Statement<unknown[]> {
    let statement = this.insertStatements.get(rows)
    if (!statement) {
      const values = Array.from({ length: rows }, (_, i) => `(${i}, ?, ?, ?, ?, ?)`).join(', ')
      statement = this.db.prepare<unknown[]>(
        `INSERT INTO events (position, stream_id, version, type, schema_version, id, data, metadata, recorded_at)
         SELECT h.p + r.column1, h.s, h.v + r.column1, r.column2, r.column3, coalesce(r.column4, substr(h.ids, 17 * r.column1 + 1, 17)), r.column5, r.column6, h.t
         FROM (SELECT ? AS p, ? AS s, ? AS v, ? AS t, ? AS ids) AS h, (VALUES ${values}) AS r`
      )
      this.insertStatements.set(rows, statement)
    }
    return statement
  }

  /**
   * A failed insert of events [start, start + rows) as the error to throw: a unique constraint is a given id stored
   * before or given twice in this append (the first such event is named, as a row-by-row insert would), else as is.
   */
  private duplicateIdError(error: unknown, streamId: string, prepared: PreparedEvent[], own: Array<Buffer | null>, start: number, rows: number): unknown {
    if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') return error
    for (let i = start; i < start + rows; i++) {
      const id = own[i]
      if (id === null || id.length !== 16) continue
      let taken = this.q.eventByGivenId.get(id) !== undefined
      for (let j = start; j < i && !taken; j++) taken = own[j]?.equals(id) === true
      if (taken) {
        return new RpcError('DuplicateEventId', `Event ${bytesToUuid(id)} (index ${i}, ${prepared[i].type}) is already stored elsewhere in the log`, {
          streamId,
          index: i,
          id: bytesToUuid(id)
        })
      }
    }
    return error
  }

  /** The 16-byte bounds of the UUIDv7s of one millisecond (the ids an append makes at that time lie between). */
  private millisecondIds(time: number): [Buffer, Buffer] {
    if (time !== this.idBoundsAt) {
      this.idBoundsAt = time
      const ms = time >= 0 && time < 2 ** 48 && Number.isInteger(time) ? time : 0
      this.idBounds = [Buffer.alloc(16), Buffer.alloc(16)]
      this.idBounds[0].writeUIntBE(ms, 0, 6)
      this.idBounds[0][6] = 0x70
      this.idBounds[1].writeUIntBE(ms, 0, 6)
      this.idBounds[1][6] = 0x80
    }
    return this.idBounds
  }

  /**
   * The ids to store. Events without an id get ids that carry their positions (uuid.ts, positionalIds), made in one
   * buffer for the append, 17 bytes each (`made`); `own[i]` is the 16-byte id stored instead for event i (given, or
   * a plain UUIDv7), null when it takes its made one. When a given id has the same millisecond (appendHead says),
   * one range read of the id index checks that none equals the made ones. A 16-byte id is checked against the ids
   * the store made, which the id index does not hold: only the event at the position the id would carry can have it.
   */
  private idsFor(streamId: string, prepared: PreparedEvent[], now: number, firstPosition: number, head: number, givenThisMs: boolean): AppendIds {
    const count = prepared.length
    const made = positionalIds(now, firstPosition, count)
    const own: Array<Buffer | null> = new Array(count)
    let first = -1
    let last = -1
    for (let i = 0; i < count; i++) {
      const e = prepared[i]
      if (e.idGiven) own[i] = e.id
      else if (made) {
        own[i] = null
        if (first < 0) first = i
        last = i
      } else own[i] = uuidv7Bytes()
    }
    // Whether event j's made id has these 16 bytes.
    const madeEquals = (j: number, id: Buffer) => j >= 0 && j < count && own[j] === null && made!.compare(id, 0, 16, 17 * j, 17 * j + 16) === 0
    if (made && first >= 0 && givenThisMs) {
      const taken = this.q.givenIdsBetween.all(made.subarray(17 * first, 17 * first + 16), made.subarray(17 * last, 17 * last + 16))
      // A given id in the range (made elsewhere, it happens to carry these positions and times): plain ids instead.
      for (const t of taken) {
        const i = positionOfId(t) - firstPosition
        if (madeEquals(i, t)) own[i] = uuidv7Bytes()
      }
    }
    for (let i = 0; i < count; i++) {
      const id = own[i]
      if (id === null || id.length !== 16) continue
      const at = positionOfId(id)
      if (at <= head && this.positionalIdAt(id, at)) {
        throw new RpcError('DuplicateEventId', `Event ${bytesToUuid(id)} (index ${i}, ${prepared[i].type}) is already stored elsewhere in the log`, {
          streamId,
          index: i,
          id: bytesToUuid(id)
        })
      }
      // The same id as one this append makes for a later event of its own: that one gets a plain id.
      const j = at - firstPosition
      if (madeEquals(j, id)) own[j] = uuidv7Bytes()
    }
    return { made, own }
  }

  /** Whether the event at a position has exactly this id as one the store made (17 bytes stored, see above). */
  private positionalIdAt(id: Buffer, position: number): EventRow | undefined {
    const row = this.q.eventByPosition.get(position)
    return row && row.id.length === 17 && row.id.compare(id, 0, 16, 0, 16) === 0 ? row : undefined
  }

  /** The stored event with this 16-byte id: a given id through the id index, one the store made through its position. */
  findEventById(id: Buffer): EventRow | undefined {
    return this.q.eventByGivenId.get(id) ?? this.positionalIdAt(id, positionOfId(id))
  }

  /** An append whose ids are all stored, as the same events of the same stream at consecutive versions, is a repeat. */
  private checkRepeat(streamId: string, prepared: PreparedEvent[]): AppendResult | null {
    const ids = prepared.map((p) => p.id)
    const first = this.findEventById(ids[0])
    if (!first) return null
    if (first.stream_id !== streamId) {
      throw new RpcError('DuplicateEventId', `Event ${bytesToUuid(ids[0])} is already stored in stream ${first.stream_id}, not ${streamId}`, {
        streamId,
        id: bytesToUuid(ids[0]),
        storedIn: first.stream_id
      })
    }
    let last = first
    for (let i = 1; i < ids.length; i++) {
      const row = ids[i].length === 16 ? this.findEventById(ids[i]) : undefined
      if (!row || row.stream_id !== streamId || row.version !== first.version + i) {
        throw new RpcError(
          'DuplicateEventId',
          `Append to ${streamId} repeats part of an earlier append: event ${bytesToUuid(ids[0])} is stored, event ${bytesToUuid(ids[i])} (index ${i}) ${row ? 'is stored at another place' : 'is not'}`,
          { streamId, index: i }
        )
      }
      last = row
    }
    return { streamId, nextExpectedVersion: last.version, firstPosition: first.position, lastPosition: last.position, duplicate: true }
  }

  /**
   * Runs fn in BEGIN IMMEDIATE. A busy database is waited for by the busy timeout; with a long timeout (workers,
   * the CLI) busy is retried here and never reported, with a short one (the app's main thread) it is left to the
   * async caller to retry without blocking.
   */
  writeTransaction<T>(fn: () => T): T {
    for (;;) {
      try {
        return this.runInTransaction.immediate(fn) as T
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_BUSY' && !this.shortBusyTimeout) continue
        throw error
      }
    }
  }

  /** A stream's row brought up to its newest event, or undefined when the stream has no row. */
  private streamRow(streamId: string): StreamRow | undefined {
    const row = this.q.stream.get(streamId)
    return row && currentStream(row)
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<StreamInfo> {
    checkStreamId(streamId)
    return this.writeTransaction(() => {
      const now = this.now()
      let row = this.streamRow(streamId)
      if (!row) {
        this.q.createStream.run(streamId, categoryOf(streamId), 0, 0, null, null, now, now, '{}')
        row = this.streamRow(streamId)!
      }
      this.q.setStreamMeta.run(JSON.stringify(metadata), isRestricted(row.state, row.deleted_before, metadata) ? 1 : 0, streamId)
      return toStreamInfo(this.streamRow(streamId)!)
    })
  }

  async deleteStream(streamId: string, options: { expectedVersion?: ExpectedVersion; mode?: 'soft' | 'tombstone' } = {}): Promise<StreamInfo> {
    checkStreamId(streamId)
    const mode = options.mode ?? 'soft'
    const expected = options.expectedVersion ?? 'any'
    return this.writeTransaction(() => {
      const now = this.now()
      // A delete sets the row's updated_at: the rows are settled first, so no older event's time overrides it.
      this.settleStreams()
      let row = this.streamRow(streamId)
      const actual = row?.version ?? 0
      const ok =
        expected === 'any' || (expected === 'no-stream' && actual === 0) || (expected === 'exists' && actual > 0) || expected === actual
      if (!ok) {
        throw new RpcError('WrongExpectedVersion', `Wrong expected version for stream ${streamId}: expected ${describeExpected(expected)}, actual ${actual}`, {
          streamId,
          expected,
          actual
        })
      }
      if (row?.state === STATE_TOMBSTONED) throw new RpcError('StreamDeleted', `Stream ${streamId} is already tombstoned`, { streamId })
      if (!row) {
        if (mode === 'soft') throw new RpcError('NotFound', `Stream ${streamId} does not exist`, { streamId })
        this.q.createStream.run(streamId, categoryOf(streamId), 0, 0, null, null, now, now, '{}')
        row = this.streamRow(streamId)!
      }
      const state = mode === 'tombstone' ? STATE_TOMBSTONED : STATE_DELETED
      const deletedBefore = mode === 'soft' ? actual + 1 : row.deleted_before
      this.q.setStreamState.run(state, deletedBefore, 1, now, streamId)
      return toStreamInfo(this.streamRow(streamId)!)
    })
  }

  async scavenge(options: ProgressOptions = {}): Promise<ScavengeReport> {
    return this.scavengeSync(options)
  }

  /** Physically removes what metadata and deletes hide; logged, in one transaction, cancellable until it commits. */
  scavengeSync(options: ProgressOptions = {}): ScavengeReport {
    const report: ScavengeReport = { removedEvents: 0, removedStreams: 0, byStream: [] }
    const now = this.now()
    const cancelled = () => options.isCancelled?.() ?? false
    this.writeTransaction(() => {
      // Settled first: the recount below counts what is left, and no trailing row may count removed events later.
      this.settleStreams()
      const restricted = this.q.restricted.all()
      this.db.prepare('UPDATE store_maintenance SET allow_delete = 1 WHERE id = 1').run()
      // The newest row of the log stays (hidden) so the next append never reuses its position.
      const newest = this.head()
      const remove = this.db.prepare('DELETE FROM events WHERE stream_id = ? AND (version < ? OR recorded_at < ?) AND position < ?')
      const removeAll = this.db.prepare('DELETE FROM events WHERE stream_id = ? AND position < ?')
      const recount = this.db.prepare(
        `UPDATE streams SET event_count = (SELECT count(*) FROM events WHERE stream_id = :s), first_position = (SELECT min(position) FROM events WHERE stream_id = :s),
           types = coalesce((SELECT json_group_object(type, n) FROM (SELECT type, count(*) AS n FROM events WHERE stream_id = :s GROUP BY type)), '{}')
         WHERE stream_id = :s`
      )
      let done = 0
      for (const row of restricted) {
        if (cancelled()) throw new RpcError('Cancelled', 'Scavenge cancelled; nothing was removed')
        const metadata = JSON.parse(row.metadata) as StreamMetadata
        const rule = visibilityRule({ version: row.version, state: row.state, deletedBefore: row.deleted_before, metadata }, now)
        const info = rule.hideAll ? removeAll.run(row.stream_id, newest) : remove.run(row.stream_id, rule.minVersion, rule.minRecordedAt, newest)
        if (info.changes > 0) {
          recount.run({ s: row.stream_id })
          report.removedEvents += info.changes
          if (rule.hideAll || row.state === STATE_DELETED) report.removedStreams++
          report.byStream.push({ streamId: row.stream_id, removed: info.changes, reason: hiddenReason(rule, metadata, row.deleted_before) })
        }
        options.onProgress?.(++done, restricted.length)
      }
      this.db.prepare('UPDATE store_maintenance SET allow_delete = 0 WHERE id = 1').run()
      this.db.prepare('INSERT INTO maintenance_log (at, operation, details) VALUES (?, ?, ?)').run(now, 'scavenge', JSON.stringify(report))
    })
    return report
  }

  // ---------------------------------------------------------------- reading

  private ruleFor(row: StreamRow | undefined): VisibilityRule | null {
    if (!row || row.restricted === 0) return null
    return visibilityRule({ version: row.version, state: row.state, deletedBefore: row.deleted_before, metadata: JSON.parse(row.metadata) as StreamMetadata }, this.now())
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StreamPage> {
    return this.readStreamSync(streamId, options)
  }

  readStreamSync(streamId: string, options: ReadStreamOptions = {}): StreamPage {
    this.assertOpen()
    checkStreamId(streamId)
    const limit = options.limit ?? 100
    const row = this.streamRow(streamId)
    if (!row) return { streamId, version: 0, state: 'missing', events: [], next: null }
    const rule = this.ruleFor(row)
    if (rule?.hideAll) return { streamId, version: row.version, state: 'tombstoned', events: [], next: null }
    const minVersion = rule?.minVersion ?? 1
    const backwards = options.direction === 'backwards'
    let rows: EventTuple[]
    if (backwards) {
      const from = Math.min(options.from ?? row.version, row.version)
      rows = from < minVersion ? [] : this.q.streamBackwards.all(streamId, from, limit)
      rows = rows.filter((r) => r[2] >= minVersion)
    } else {
      rows = this.q.streamForwards.all(streamId, Math.max(options.from ?? 1, minVersion), limit)
    }
    const minRecordedAt = rule?.minRecordedAt ?? 0
    const visible = minRecordedAt > 0 ? rows.filter((r) => r[8] >= minRecordedAt) : rows
    let next: number | null = null
    if (rows.length === limit) {
      const lastVersion = rows[rows.length - 1][2]
      next = backwards ? (lastVersion - 1 >= minVersion ? lastVersion - 1 : null) : lastVersion < row.version ? lastVersion + 1 : null
    }
    return { streamId, version: row.version, state: stateName(row.state), events: visible.map(tupleToRecordedEvent), next }
  }

  /**
   * A stream's visible events as one JSON array text, built from the stored JSON without parsing it: the cheapest
   * way to hand events to user code, which parses them once on its side.
   */
  readStreamJson(streamId: string, fromVersion = 1, toVersion = Number.MAX_SAFE_INTEGER): { json: string; count: number } {
    const parts: string[] = []
    let from: number | null = fromVersion
    const row = this.streamRow(streamId)
    if (!row) return { json: '[]', count: 0 }
    const rule = this.ruleFor(row)
    if (rule?.hideAll) return { json: '[]', count: 0 }
    from = Math.max(from, rule?.minVersion ?? 1)
    const minRecordedAt = rule?.minRecordedAt ?? 0
    while (from !== null && from <= toVersion) {
      const rows = this.q.streamForwards.all(streamId, from, 1000)
      for (const [position, sid, version, type, schemaVersion, id, data, metadata, recordedAt] of rows) {
        if (version > toVersion) break
        if (recordedAt < minRecordedAt) continue
        parts.push(
          `{"position":${position},"streamId":${JSON.stringify(sid)},"version":${version},"type":${JSON.stringify(type)},"schemaVersion":${schemaVersion},"id":"${bytesToUuid(id)}","data":${data},"metadata":${metadata ?? 'null'},"recordedAt":${recordedAt}}`
        )
      }
      from = rows.length === 1000 ? rows[rows.length - 1][2] + 1 : null
    }
    return { json: `[${parts.join(',')}]`, count: parts.length }
  }

  async readAll(options: ReadAllOptions = {}): Promise<AllPage> {
    return this.readAllSync(options)
  }

  /** Reads a page of $all; positions hidden by stream metadata are skipped, and filters narrow the scan. */
  readAllSync(options: ReadAllOptions = {}): AllPage {
    const page = this.readAllTuples(options)
    return { events: page.rows.map(tupleToRecordedEvent), next: page.next, headPosition: page.headPosition }
  }

  /** Like readAllSync, but the stored rows as they are (data and metadata as JSON text): export writes them untouched. */
  readAllRawSync(options: ReadAllOptions = {}): { rows: EventRow[]; next: number | null; headPosition: number } {
    const page = this.readAllTuples(options)
    return { rows: page.rows.map(tupleToRow), next: page.next, headPosition: page.headPosition }
  }

  private readAllTuples(options: ReadAllOptions): { rows: EventTuple[]; next: number | null; headPosition: number } {
    this.assertOpen()
    const limit = options.limit ?? 100
    const filter = options.filter ?? {}
    const backwards = options.direction === 'backwards'
    const head = this.head()
    const lower = Math.max(filter.fromPosition ?? 1, 1)
    const upper = Math.min(filter.toPosition ?? head, head)
    let from = backwards ? Math.min(options.from ?? upper, upper) : Math.max(options.from ?? lower, lower)
    const restricted = new Map<string, VisibilityRule>()
    for (const row of this.q.restricted.all()) restricted.set(row.stream_id, this.ruleFor(currentStream(row))!)
    const narrow = this.filterQuery(filter)
    const out: EventTuple[] = []
    let next: number | null = null
    // Keep reading until the page is full: hidden events may thin a batch out.
    for (;;) {
      if (backwards ? from < lower : from > upper) break
      const batch = narrow ? narrow(from, backwards, limit) : backwards ? this.q.allBackwards.all(from, limit) : this.q.allForwards.all(from, limit)
      let last = from
      for (const r of batch) {
        const position = r[0]
        if (backwards ? position < lower : position > upper) break
        last = position
        const rule = restricted.size ? restricted.get(r[1]) : undefined
        if (rule && !isVisible(rule, r[2], r[8])) continue
        out.push(r)
        if (out.length === limit) break
      }
      if (batch.length === 0) break
      if (out.length === limit) {
        const candidate = backwards ? last - 1 : last + 1
        next = backwards ? (candidate >= lower ? candidate : null) : candidate <= upper ? candidate : null
        break
      }
      if (batch.length < limit) break
      from = backwards ? last - 1 : last + 1
    }
    return { rows: out, next, headPosition: head }
  }

  /** A statement for the filtered parts of $all, or null when no filter applies. */
  private filterQuery(filter: ReadAllOptions['filter'] & object): ((from: number, backwards: boolean, limit: number) => EventTuple[]) | null {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.streamId !== undefined) {
      where.push('stream_id = ?')
      params.push(filter.streamId)
    }
    if (filter.category !== undefined) {
      where.push('stream_id IN (SELECT stream_id FROM streams WHERE category = ?)')
      params.push(filter.category)
    }
    if (filter.types !== undefined) {
      where.push(`type IN (${filter.types.map(() => '?').join(', ')})`)
      params.push(...filter.types)
    }
    if (filter.correlationId !== undefined) {
      where.push("metadata IS NOT NULL AND json_extract(metadata, '$.correlationId') = ?")
      params.push(filter.correlationId)
    }
    if (where.length === 0) return null
    const key = where.join(' AND ')
    let statements = this.filterStatements.get(key)
    if (!statements) {
      statements = {
        forwards: this.db.prepare<unknown[], EventTuple>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position >= ? AND ${key} ORDER BY position LIMIT ?`).raw(true),
        backwards: this.db.prepare<unknown[], EventTuple>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position <= ? AND ${key} ORDER BY position DESC LIMIT ?`).raw(true)
      }
      if (this.filterStatements.size > 200) this.filterStatements.clear()
      this.filterStatements.set(key, statements)
    }
    const { forwards, backwards } = statements
    return (from, back, limit) => (back ? backwards : forwards).all(from, ...params, limit)
  }

  async readEvent(by: { position: number } | { id: string }): Promise<RecordedEvent | null> {
    this.assertOpen()
    let row: EventRow | undefined
    if ('position' in by) row = this.q.eventByPosition.get(by.position)
    else {
      if (!isUuid(by.id)) throw new RpcError('InvalidInput', `Event id ${by.id} is not a UUID`, { id: by.id })
      row = this.findEventById(uuidToBytes(by.id))
    }
    if (!row) return null
    const rule = this.ruleFor(this.streamRow(row.stream_id))
    if (rule && !isVisible(rule, row.version, row.recorded_at)) return null
    return toRecordedEvent(row)
  }

  async streamInfo(streamId: string): Promise<StreamInfo | null> {
    checkStreamId(streamId)
    const row = this.streamRow(streamId)
    return row ? toStreamInfo(row) : null
  }

  async listStreams(options: ListStreamsOptions = {}): Promise<{ streams: StreamInfo[]; total: number; next: string | null }> {
    this.assertOpen()
    const where: string[] = []
    const params: unknown[] = []
    if (!options.includeDeleted) where.push('state = 0')
    if (options.nameContains) {
      where.push('instr(lower(stream_id), lower(?)) > 0')
      params.push(options.nameContains)
    }
    if (options.category) {
      where.push('category = ?')
      params.push(options.category)
    }
    if (options.eventType) {
      // The stream row counts its types up to the settled position, the events after it are read: no scan of the log.
      where.push(
        `(EXISTS (SELECT 1 FROM json_each(streams.types) WHERE key = ?)
          OR stream_id IN (SELECT stream_id FROM events NOT INDEXED
            WHERE (SELECT trailing FROM streams_settled WHERE id = 1) AND position > (SELECT position FROM streams_settled WHERE id = 1) AND type = ?))`
      )
      params.push(options.eventType, options.eventType)
    }
    const filtered = where.length ? `WHERE ${where.join(' AND ')}` : ''
    const total = (this.db.prepare(`SELECT count(*) AS n FROM streams ${filtered}`).get(...params) as { n: number }).n
    const limit = options.limit ?? 200
    const page = [...where]
    const pageParams = [...params]
    if (options.after) {
      const [updated, ...rest] = options.after.split('|')
      page.push('(coalesce(updated_at, 0) < ? OR (coalesce(updated_at, 0) = ? AND stream_id > ?))')
      pageParams.push(Number(updated), Number(updated), rest.join('|'))
    }
    // Filters read what a row always has current (state, name, category, the set of types); order and figures come
    // from the rows brought up to date.
    const rows = this.db
      .prepare<unknown[], StreamRow>(
        `SELECT * FROM (${CURRENT_STREAMS}) AS streams ${page.length ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY coalesce(updated_at, 0) DESC, stream_id LIMIT ?`
      )
      .all(...pageParams, limit)
    const last = rows[rows.length - 1]
    const next = rows.length === limit && last ? `${last.updated_at ?? 0}|${last.stream_id}` : null
    return { streams: rows.map(toStreamInfo), total, next }
  }

  /** The version of a stream's last event at or before a global position, or recorded at or before a time (0: none). */
  streamVersionAt(streamId: string, at: { position: number } | { time: number }): number {
    const sql = 'position' in at ? 'position <= ?' : 'recorded_at <= ?'
    const row = this.db.prepare(`SELECT max(version) AS v FROM events WHERE stream_id = ? AND ${sql}`).get(streamId, 'position' in at ? at.position : at.time) as { v: number | null }
    return row.v ?? 0
  }

  /** The version of a stream's last event (0 when it has none): one lookup of its row. */
  streamVersion(streamId: string): number {
    return this.streamRow(streamId)?.version ?? 0
  }

  head(): number {
    return this.q.head.get()?.head ?? 0
  }

  async headPosition(): Promise<number> {
    return this.head()
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen()
    const events = (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n
    const streams = (this.db.prepare('SELECT count(*) AS n FROM streams WHERE state = 0').get() as { n: number }).n
    const categories = this.db
      .prepare(`SELECT category, count(*) AS streams, sum(event_count) AS events FROM (${CURRENT_STREAMS}) WHERE state = 0 GROUP BY category ORDER BY events DESC`)
      .all() as StoreStats['categories']
    // Summed from the per-stream counts plus the events trailing rows do not count yet (every stored event, as
    // count(*) above), so no scan of the log.
    const eventTypes = this.db
      .prepare(
        `SELECT type, sum(n) AS events FROM (
           SELECT j.key AS type, j.value AS n FROM streams, json_each(streams.types) AS j
           UNION ALL
           SELECT e.type, count(*) FROM events AS e NOT INDEXED JOIN streams AS s ON s.stream_id = e.stream_id
           WHERE (SELECT trailing FROM streams_settled WHERE id = 1) AND e.position > (SELECT position FROM streams_settled WHERE id = 1)
             AND e.version > s.version GROUP BY e.type
         ) GROUP BY type ORDER BY events DESC, type`
      )
      .all() as StoreStats['eventTypes']
    let databaseBytes = 0
    for (const suffix of ['', '-wal']) {
      try {
        databaseBytes += statSync(this.file + suffix).size
      } catch {
        // A missing WAL file is fine.
      }
    }
    return { events, streams, headPosition: this.head(), categories, eventTypes, databaseBytes }
  }

  // ---------------------------------------------------------------- following

  onAppended(listener: (notice: AppendedNotice) => void): () => void {
    this.emitter.on('appended', listener)
    this.startPolling()
    return () => {
      this.emitter.off('appended', listener)
      this.maybeStopPolling()
    }
  }

  subscribe(options: SubscribeOptions, handler: (event: RecordedEvent) => void | Promise<void>): Subscription {
    const subscription = startSubscription(
      {
        readAll: (o) => this.readAll(o),
        onWake: (listener) => this.onAppended(() => listener())
      },
      options,
      handler
    )
    this.subscriptions.add(subscription)
    void subscription.done.finally(() => this.subscriptions.delete(subscription)).catch(() => {})
    return subscription
  }

  private startPolling() {
    if (this.pollTimer || this.closed) return
    this.pollTimer = setInterval(() => this.pollForeignAppends(), this.pollIntervalMs)
    this.pollTimer.unref()
  }

  private maybeStopPolling() {
    if (this.emitter.listenerCount('appended') === 0 && this.pollTimer) {
      clearInterval(this.pollTimer)
      this.pollTimer = null
    }
  }

  /** Another connection committed when data_version moves; announce what it appended. */
  pollForeignAppends(): void {
    if (this.closed) return
    const version = this.db.pragma('data_version', { simple: true }) as number
    if (version === this.dataVersion) return
    this.dataVersion = version
    const head = this.head()
    if (head <= this.knownHead) return
    const rows = this.db
      .prepare<[number, number], { stream_id: string; first: number; last: number; count: number; types: string }>(
        'SELECT stream_id, min(position) AS first, max(position) AS last, count(*) AS count, group_concat(DISTINCT type) AS types FROM events WHERE position > ? AND position <= ? GROUP BY stream_id ORDER BY first'
      )
      .all(this.knownHead, head)
    this.knownHead = head
    for (const r of rows) {
      this.emitter.emit('appended', { streamId: r.stream_id, firstPosition: r.first, lastPosition: r.last, count: r.count, types: r.types.split(',') } satisfies AppendedNotice)
    }
  }

  private assertOpen() {
    if (this.closed) throw new RpcError('Internal', 'The event store is closed')
  }

  async close(): Promise<void> {
    if (this.closed) return
    for (const s of this.subscriptions) s.close()
    this.closed = true
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = null
    this.emitter.removeAllListeners()
    this.db.close()
  }
}

export { STATE_LIVE }
