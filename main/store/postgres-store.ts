import { EventEmitter } from 'node:events'
import { Socket } from 'node:net'
import pg from 'pg'
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
import { LOCK_CLASS, PG_SCHEMA_VERSION, SQLSTATE, isSchemaName, notifyChannel, schemaDdl } from './postgres-schema'
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
import { bytesToUuid, isUuid } from './uuid'
import { checkNewEvent, checkStreamId } from './validation'
import { STATE_DELETED, STATE_TOMBSTONED, hiddenReason, isRestricted, isVisible, stateName, visibilityRule, type VisibilityRule } from './visibility'

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database[?schema=name]; a password in it is used, but ESW_PG_PASSWORD is the way to give one. */
  url: string
  /** The password (default: the URL's, else the ESW_PG_PASSWORD environment variable). */
  password?: string
  /** The schema that holds the store's tables (default: the URL's ?schema=, else `esw`). */
  schema?: string
  /** Connections in the pool (default 4). */
  poolSize?: number
  /** How often the head is checked while someone listens, a fallback for a missed notification (ms). */
  pollIntervalMs?: number
  /** A clock for recordedAt and maxAge (tests move it). */
  now?: () => number
}

/** A position, version or count: int8 comes back as a string from pg; every one used here fits a double. */
const INT8_OID = 20
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
}

interface EventRow {
  position: number
  stream_id: string
  version: number
  type: string
  schema_version: number
  id: string
  data: Record<string, unknown>
  metadata: Record<string, unknown> | null
  recorded_at: number
}

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
  metadata: StreamMetadata
  restricted: boolean
}

const EVENT_COLUMNS = 'position, stream_id, version, type, schema_version, id, data, metadata, recorded_at'

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    schemaVersion: row.schema_version,
    id: row.id,
    data: row.data,
    metadata: row.metadata,
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
    metadata: row.metadata
  }
}

function describeExpected(expected: ExpectedVersion): string {
  return typeof expected === 'number' ? String(expected) : `'${expected}'`
}

function wrongExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): RpcError {
  return new RpcError('WrongExpectedVersion', `Wrong expected version for stream ${streamId}: expected ${describeExpected(expected)}, actual ${actual}`, {
    streamId,
    expected,
    actual
  })
}

function expectationHolds(expected: ExpectedVersion, actual: number): boolean {
  return expected === 'any' || (expected === 'no-stream' && actual === 0) || (expected === 'exists' && actual > 0) || expected === actual
}

/**
 * The connection settings in a postgres:// URL (host, port, user, database, ?schema=, ?sslmode=), and the URL
 * with its password masked for messages.
 */
export function parseStoreUrl(url: string): { config: pg.ClientConfig; schema: string | null; redacted: string } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RpcError('InvalidInput', 'Not a PostgreSQL URL: expected postgres://user@host:port/database')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new RpcError('InvalidInput', `Not a PostgreSQL URL (${parsed.protocol}): expected postgres://user@host:port/database`)
  }
  const sslmode = parsed.searchParams.get('sslmode')
  const config: pg.ClientConfig = {
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    port: parsed.port ? Number(parsed.port) : 5432,
    ...(parsed.username ? { user: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
    ...(sslmode && sslmode !== 'disable' && sslmode !== 'prefer' ? { ssl: sslmode === 'verify-full' ? true : { rejectUnauthorized: false } } : {})
  }
  const redacted = new URL(parsed.toString())
  if (redacted.password) redacted.password = '***'
  return { config, schema: parsed.searchParams.get('schema'), redacted: redacted.toString() }
}

/** Runs fn in a transaction on one connection of the pool: committed when fn returns, rolled back when it throws. */
export async function inPgTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query(begin)
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

const APPEND_SQL = 'SELECT * FROM esw_append($1, $2, $3, $4, $5::uuid[], $6::text[], $7::int[], $8::json[], $9::json[], $10)'

interface AppendRow {
  next_version: number
  first_position: number
  last_position: number
  duplicate: boolean
}

const appendResult = (streamId: string, row: AppendRow): AppendResult => ({
  streamId,
  nextExpectedVersion: row.next_version,
  firstPosition: row.first_position,
  lastPosition: row.last_position,
  duplicate: row.duplicate
})

/** The notice a notification carries (short keys keep it small). */
interface NoticePayload {
  s: string
  f: number
  l: number
  n: number
  t?: string[]
}

/**
 * The PostgreSQL event store: the same semantics as the SQLite store (see postgres-schema.ts for how positions stay
 * gapless and in commit order), shared by any number of processes on any number of machines.
 */
export class PostgresEventStore implements EventStore {
  readonly pool: pg.Pool
  readonly schema: string
  /** The URL without its password, for messages. */
  readonly location: string
  private readonly now: () => number
  private readonly pollIntervalMs: number
  private readonly emitter = new EventEmitter()
  private readonly ready: Promise<void>
  private readonly subscriptions = new Set<Subscription>()
  private readonly clientConfig: pg.ClientConfig
  private listener: pg.Client | null = null
  private listening: Promise<void> | null = null
  private pollTimer: NodeJS.Timeout | null = null
  /** Every position up to this one has been announced to onAppended listeners. */
  private noticed = 0
  /** The head seen by the last poll that found it ahead of `noticed` (a notification may still be on its way). */
  private lagging: { noticed: number; head: number } | null = null
  /** The head the last poll saw (a poll that sees it move wakes the subscriptions). */
  private polledHead = 0
  /** Whether `noticed` has its starting point (the head when the first listen began). */
  private noticedFrom = false
  private closed = false
  private readonly sockets = new Set<Socket>()
  private listenGeneration = 0
  /** How to open this store again (a job thread opens its own connection). */
  readonly connection: Pick<PostgresStoreOptions, 'url' | 'schema' | 'password'>

  private constructor(options: PostgresStoreOptions) {
    const { config, schema, redacted } = parseStoreUrl(options.url)
    this.schema = options.schema ?? schema ?? 'esw'
    if (!isSchemaName(this.schema)) throw new RpcError('InvalidInput', `Schema name ${JSON.stringify(this.schema)}: lower-case letters, digits and _ only`)
    this.location = redacted
    this.now = options.now ?? Date.now
    this.pollIntervalMs = options.pollIntervalMs ?? 250
    const password = options.password ?? config.password ?? process.env.ESW_PG_PASSWORD
    this.connection = { url: options.url, schema: this.schema, ...(typeof password === 'string' ? { password } : {}) }
    this.clientConfig = {
      ...config,
      ...(password !== undefined ? { password } : {}),
      options: `-c search_path=${this.schema}`,
      application_name: 'event-workbench',
      types,
      // A server or network that stops answering is an error after a while, not a wait for ever.
      connectionTimeoutMillis: 15_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: 300_000,
      // The store's own sockets: a connection refused during authentication is left open by pg, and would keep the
      // process alive; open() closes them when it fails.
      stream: () => {
        const socket = new Socket()
        this.sockets.add(socket)
        socket.once('close', () => this.sockets.delete(socket))
        return socket
      }
    }
    this.pool = new pg.Pool({ ...this.clientConfig, max: options.poolSize ?? 4 })
    // An idle connection that the server closes must not crash the process.
    this.pool.on('error', () => {})
    this.emitter.setMaxListeners(0)
    this.ready = this.applySchema()
    this.ready.catch(() => {})
  }

  /** A pool of its own on the same server and schema (for work that must not hold the store's connections). */
  newPool(max: number, applicationName: string): pg.Pool {
    const pool = new pg.Pool({ ...this.clientConfig, application_name: applicationName, max })
    pool.on('error', () => {})
    return pool
  }

  /** Connects, creates or checks the schema, and resolves once the store can be used. */
  static async open(options: PostgresStoreOptions): Promise<PostgresEventStore> {
    const store = new PostgresEventStore(options)
    try {
      await store.ready
    } catch (error) {
      await store.pool.end().catch(() => {})
      for (const socket of store.sockets) socket.destroy()
      throw error
    }
    return store
  }

  private async applySchema(): Promise<void> {
    await inPgTransaction(this.pool, async (client) => {
      // Two processes creating the same schema at once would collide in the catalogue: one at a time.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, `schema:${this.schema}`])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`)
      const hasInfo = await client.query("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'store_info'", [this.schema])
      if (hasInfo.rowCount) {
        const found = await client.query<{ value: string }>("SELECT value FROM store_info WHERE key = 'schema_version'")
        const current = Number(found.rows[0]?.value ?? 0)
        if (current > PG_SCHEMA_VERSION) {
          throw new Error(`This event store was written by a newer Event Workbench (schema ${current}); this one knows schema ${PG_SCHEMA_VERSION}`)
        }
        if (current === PG_SCHEMA_VERSION) return
      }
      await client.query(schemaDdl(this.schema))
      await client.query(
        "INSERT INTO store_info (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [String(PG_SCHEMA_VERSION)]
      )
    })
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<pg.QueryResult<R>> {
    this.assertOpen()
    return this.pool.query<R>(name ? { name, text, values } : { text, values })
  }

  /** Runs fn in a transaction holding the store's write lock. */
  private async writeTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen()
    return inPgTransaction(this.pool, async (client) => {
      await client.query('SELECT esw_lock()')
      return fn(client)
    })
  }

  // ---------------------------------------------------------------- writing

  /** `recordedAt` is the time to store (default: the store's clock now); a working copy passes its own to mirror the append exactly. */
  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion?: ExpectedVersion; recordedAt?: number } = {}): Promise<AppendResult> {
    const append = this.appendCall(streamId, events, options.expectedVersion ?? 'any', options.recordedAt)
    await this.ready
    let row: AppendRow
    try {
      row = (await this.query<AppendRow>(APPEND_SQL, append.values, 'esw_append')).rows[0]
    } catch (error) {
      throw append.error(error)
    }
    return appendResult(streamId, row)
  }

  /**
   * Several appends in one transaction, all or none (an import): each with its own expected version, checked in
   * order; the first refused one rolls back the rest, with its stream named. Cancellable until the commit.
   */
  async appendAll(appends: Array<{ streamId: string; events: NewEvent[]; expectedVersion: ExpectedVersion; recordedAt?: number }>, progress: ProgressOptions = {}): Promise<AppendResult[]> {
    const calls = appends.map((a) => ({ streamId: a.streamId, call: this.appendCall(a.streamId, a.events, a.expectedVersion, a.recordedAt) }))
    await this.ready
    return this.writeTransaction(async (client) => {
      const results: AppendResult[] = []
      for (const [index, { streamId, call }] of calls.entries()) {
        if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'Cancelled: nothing was appended')
        let row: AppendRow
        try {
          row = (await client.query<AppendRow>({ name: 'esw_append', text: APPEND_SQL, values: call.values })).rows[0]
        } catch (error) {
          throw call.error(error)
        }
        results.push(appendResult(streamId, row))
        progress.onProgress?.(index + 1, calls.length)
      }
      if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'Cancelled: nothing was appended')
      return results
    })
  }

  /** The checked arguments of one esw_append call, and how its errors read. */
  private appendCall(streamId: string, events: NewEvent[], expected: ExpectedVersion, recordedAt: number | undefined): { values: unknown[]; error(e: unknown): unknown } {
    this.assertOpen()
    checkStreamId(streamId)
    if (events.length === 0) throw new RpcError('InvalidInput', `Append to stream ${streamId}: no events given`, { streamId })
    const prepared = events.map((event, index) => checkNewEvent(event, streamId, index))
    const n = prepared.length
    const ids = new Array<string>(n)
    const eventTypes = new Array<string>(n)
    const schemaVersions = new Array<number>(n)
    const data = new Array<string>(n)
    const metadata = new Array<string | null>(n)
    for (let i = 0; i < n; i++) {
      const p = prepared[i]
      ids[i] = bytesToUuid(p.id)
      eventTypes[i] = p.type
      schemaVersions[i] = p.schemaVersion
      data[i] = p.data
      metadata[i] = p.metadata
    }
    return {
      values: [streamId, categoryOf(streamId), String(expected), prepared[0].idGiven, ids, eventTypes, schemaVersions, data, metadata, recordedAt ?? this.now()],
      error: (e) => this.appendError(e, streamId, expected, ids, eventTypes)
    }
  }

  private appendError(error: unknown, streamId: string, expected: ExpectedVersion, ids: string[], eventTypes: string[]): unknown {
    const e = error as { code?: string; detail?: string; message?: string; constraint?: string }
    const detail = () => (e.detail ? (JSON.parse(e.detail) as Record<string, unknown>) : {})
    switch (e.code) {
      case SQLSTATE.wrongExpectedVersion:
        return wrongExpectedVersion(streamId, expected, Number(detail().actual))
      case SQLSTATE.streamDeleted:
        return new RpcError('StreamDeleted', `Stream ${streamId} is tombstoned: appends are refused for good`, { streamId })
      case SQLSTATE.duplicateEventId: {
        const d = detail()
        if (e.message === 'elsewhere') {
          return new RpcError('DuplicateEventId', `Event ${ids[0]} is already stored in stream ${String(d.storedIn)}, not ${streamId}`, {
            streamId,
            id: ids[0],
            storedIn: d.storedIn
          })
        }
        const i = Number(d.index)
        return new RpcError(
          'DuplicateEventId',
          `Append to ${streamId} repeats part of an earlier append: event ${ids[0]} is stored, event ${ids[i]} (index ${i}) ${d.stored ? 'is stored at another place' : 'is not'}`,
          { streamId, index: i }
        )
      }
      case '23505':
        if (e.constraint === 'events_id') {
          // Which one: the first id of the batch that is stored (looked up after the rollback).
          return new RpcError('DuplicateEventId', `An event id of this append to ${streamId} is already stored elsewhere in the log (${ids.length} events: ${[...new Set(eventTypes)].slice(0, 5).join(', ')})`, {
            streamId
          })
        }
        return error
      default:
        return error
    }
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<StreamInfo> {
    checkStreamId(streamId)
    await this.ready
    return this.writeTransaction(async (client) => {
      const now = this.now()
      let row = (await client.query<StreamRow>('SELECT * FROM streams WHERE stream_id = $1', [streamId])).rows[0]
      if (!row) {
        row = (
          await client.query<StreamRow>(
            'INSERT INTO streams (stream_id, category, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING *',
            [streamId, categoryOf(streamId), now]
          )
        ).rows[0]
      }
      const restricted = isRestricted(row.state, row.deleted_before, metadata)
      const updated = await client.query<StreamRow>('UPDATE streams SET metadata = $2, restricted = $3 WHERE stream_id = $1 RETURNING *', [
        streamId,
        JSON.stringify(metadata),
        restricted
      ])
      return toStreamInfo(updated.rows[0])
    })
  }

  async deleteStream(streamId: string, options: { expectedVersion?: ExpectedVersion; mode?: 'soft' | 'tombstone' } = {}): Promise<StreamInfo> {
    checkStreamId(streamId)
    const mode = options.mode ?? 'soft'
    const expected = options.expectedVersion ?? 'any'
    await this.ready
    return this.writeTransaction(async (client) => {
      const now = this.now()
      let row = (await client.query<StreamRow>('SELECT * FROM streams WHERE stream_id = $1', [streamId])).rows[0]
      const actual = row?.version ?? 0
      if (!expectationHolds(expected, actual)) throw wrongExpectedVersion(streamId, expected, actual)
      if (row?.state === STATE_TOMBSTONED) throw new RpcError('StreamDeleted', `Stream ${streamId} is already tombstoned`, { streamId })
      if (!row) {
        if (mode === 'soft') throw new RpcError('NotFound', `Stream ${streamId} does not exist`, { streamId })
        row = (
          await client.query<StreamRow>('INSERT INTO streams (stream_id, category, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING *', [
            streamId,
            categoryOf(streamId),
            now
          ])
        ).rows[0]
      }
      const state = mode === 'tombstone' ? STATE_TOMBSTONED : STATE_DELETED
      const deletedBefore = mode === 'soft' ? actual + 1 : row.deleted_before
      const updated = await client.query<StreamRow>(
        'UPDATE streams SET state = $2, deleted_before = $3, restricted = true, updated_at = $4 WHERE stream_id = $1 RETURNING *',
        [streamId, state, deletedBefore, now]
      )
      return toStreamInfo(updated.rows[0])
    })
  }

  /** Physically removes what metadata and deletes hide; logged, in one transaction, cancellable until it commits. */
  async scavenge(options: ProgressOptions = {}): Promise<ScavengeReport> {
    await this.ready
    const report: ScavengeReport = { removedEvents: 0, removedStreams: 0, byStream: [] }
    const now = this.now()
    await this.writeTransaction(async (client) => {
      await client.query("SET LOCAL esw.allow_delete = 'on'")
      const restricted = (await client.query<StreamRow>('SELECT * FROM streams WHERE restricted ORDER BY stream_id')).rows
      // The newest row of the log stays (hidden), as in the SQLite store: the head is always the highest stored
      // position, so a copy between the two keeps it.
      const newest = (await client.query<{ position: number }>('SELECT position FROM store_head WHERE id = 1')).rows[0].position
      let done = 0
      for (const row of restricted) {
        if (options.isCancelled?.()) throw new RpcError('Cancelled', 'Scavenge cancelled; nothing was removed')
        const rule = visibilityRule({ version: row.version, state: row.state, deletedBefore: row.deleted_before, metadata: row.metadata }, now)
        const removed = rule.hideAll
          ? await client.query('DELETE FROM events WHERE stream_id = $1 AND position < $2', [row.stream_id, newest])
          : await client.query('DELETE FROM events WHERE stream_id = $1 AND (version < $2 OR recorded_at < $3) AND position < $4', [
              row.stream_id,
              rule.minVersion,
              rule.minRecordedAt,
              newest
            ])
        const count = removed.rowCount ?? 0
        if (count > 0) {
          await client.query(
            `UPDATE streams SET event_count = c.n, first_position = c.first FROM (SELECT count(*) AS n, min(position) AS first FROM events WHERE stream_id = $1) c
             WHERE stream_id = $1`,
            [row.stream_id]
          )
          await client.query('DELETE FROM stream_types WHERE stream_id = $1', [row.stream_id])
          await client.query('INSERT INTO stream_types (stream_id, type, count) SELECT stream_id, type, count(*) FROM events WHERE stream_id = $1 GROUP BY stream_id, type', [
            row.stream_id
          ])
          report.removedEvents += count
          if (rule.hideAll || row.state === STATE_DELETED) report.removedStreams++
          report.byStream.push({ streamId: row.stream_id, removed: count, reason: hiddenReason(rule, row.metadata, row.deleted_before) })
        }
        options.onProgress?.(++done, restricted.length)
      }
      await client.query('INSERT INTO maintenance_log (at, operation, details) VALUES ($1, $2, $3)', [now, 'scavenge', JSON.stringify(report)])
    })
    return report
  }

  // ---------------------------------------------------------------- reading

  private ruleFor(row: StreamRow | undefined): VisibilityRule | null {
    if (!row || !row.restricted) return null
    return visibilityRule({ version: row.version, state: row.state, deletedBefore: row.deleted_before, metadata: row.metadata }, this.now())
  }

  private async streamRow(streamId: string): Promise<StreamRow | undefined> {
    return (await this.query<StreamRow>('SELECT * FROM streams WHERE stream_id = $1', [streamId], 'esw_stream')).rows[0]
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StreamPage> {
    checkStreamId(streamId)
    await this.ready
    const limit = options.limit ?? 100
    const row = await this.streamRow(streamId)
    if (!row) return { streamId, version: 0, state: 'missing', events: [], next: null }
    const rule = this.ruleFor(row)
    if (rule?.hideAll) return { streamId, version: row.version, state: 'tombstoned', events: [], next: null }
    const minVersion = rule?.minVersion ?? 1
    const backwards = options.direction === 'backwards'
    let rows: EventRow[]
    if (backwards) {
      const from = Math.min(options.from ?? row.version, row.version)
      rows =
        from < minVersion
          ? []
          : (
              await this.query<EventRow>(
                `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version <= $2 AND version >= $3 ORDER BY version DESC LIMIT $4`,
                [streamId, from, minVersion, limit],
                'esw_stream_back'
              )
            ).rows
    } else {
      rows = (
        await this.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
          [streamId, Math.max(options.from ?? 1, minVersion), limit],
          'esw_stream_fwd'
        )
      ).rows
    }
    const minRecordedAt = rule?.minRecordedAt ?? 0
    const visible = minRecordedAt > 0 ? rows.filter((r) => r.recorded_at >= minRecordedAt) : rows
    let next: number | null = null
    if (rows.length === limit) {
      const lastVersion = rows[rows.length - 1].version
      next = backwards ? (lastVersion - 1 >= minVersion ? lastVersion - 1 : null) : lastVersion < row.version ? lastVersion + 1 : null
    }
    return { streamId, version: row.version, state: stateName(row.state), events: visible.map(toRecordedEvent), next }
  }

  /**
   * A page of $all. The head is read first and bounds the scan: every position up to a committed head is committed
   * (see postgres-schema.ts), so the page never ends past an event it did not see.
   */
  async readAll(options: ReadAllOptions = {}): Promise<AllPage> {
    await this.ready
    const limit = options.limit ?? 100
    const filter = options.filter ?? {}
    const backwards = options.direction === 'backwards'
    const start = await this.query<{ head: number; restricted: StreamRow[] | null }>(
      `SELECT (SELECT position FROM store_head WHERE id = 1) AS head,
              (SELECT json_agg(s) FROM streams s WHERE restricted) AS restricted`,
      [],
      'esw_all_start'
    )
    const head = start.rows[0].head
    const restricted = new Map<string, VisibilityRule>()
    for (const row of start.rows[0].restricted ?? []) restricted.set(row.stream_id, this.ruleFor(row)!)
    const lower = Math.max(filter.fromPosition ?? 1, 1)
    const upper = Math.min(filter.toPosition ?? head, head)
    let from = backwards ? Math.min(options.from ?? upper, upper) : Math.max(options.from ?? lower, lower)
    const where: string[] = []
    const params: unknown[] = []
    if (filter.streamId !== undefined) {
      params.push(filter.streamId)
      where.push(`stream_id = $${params.length + 3}`)
    }
    if (filter.category !== undefined) {
      params.push(filter.category)
      where.push(`stream_id IN (SELECT stream_id FROM streams WHERE category = $${params.length + 3})`)
    }
    if (filter.types !== undefined) {
      params.push(filter.types)
      where.push(`type = ANY ($${params.length + 3}::text[])`)
    }
    if (filter.correlationId !== undefined) {
      params.push(filter.correlationId)
      where.push(`metadata IS NOT NULL AND (metadata->>'correlationId') = $${params.length + 3}`)
    }
    const narrow = where.length ? ` AND ${where.join(' AND ')}` : ''
    const sql = backwards
      ? `SELECT ${EVENT_COLUMNS} FROM events WHERE position <= $1 AND position >= $2${narrow} ORDER BY position DESC LIMIT $3`
      : `SELECT ${EVENT_COLUMNS} FROM events WHERE position >= $1 AND position <= $2${narrow} ORDER BY position LIMIT $3`
    const name = narrow ? undefined : backwards ? 'esw_all_back' : 'esw_all_fwd'
    const out: EventRow[] = []
    let next: number | null = null
    // Keep reading until the page is full: hidden events may thin a batch out.
    for (;;) {
      if (backwards ? from < lower : from > upper) break
      const batch = (await this.query<EventRow>(sql, [from, backwards ? lower : upper, limit, ...params], name)).rows
      let last = from
      for (const r of batch) {
        last = r.position
        const rule = restricted.size ? restricted.get(r.stream_id) : undefined
        if (rule && !isVisible(rule, r.version, r.recorded_at)) continue
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
    return { events: out.map(toRecordedEvent), next, headPosition: head }
  }

  async readEvent(by: { position: number } | { id: string }): Promise<RecordedEvent | null> {
    await this.ready
    let row: EventRow | undefined
    if ('position' in by) row = (await this.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position = $1`, [by.position])).rows[0]
    else {
      if (!isUuid(by.id)) throw new RpcError('InvalidInput', `Event id ${by.id} is not a UUID`, { id: by.id })
      row = (await this.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`, [by.id])).rows[0]
    }
    if (!row) return null
    const rule = this.ruleFor(await this.streamRow(row.stream_id))
    if (rule && !isVisible(rule, row.version, row.recorded_at)) return null
    return toRecordedEvent(row)
  }

  async streamInfo(streamId: string): Promise<StreamInfo | null> {
    checkStreamId(streamId)
    await this.ready
    const row = await this.streamRow(streamId)
    return row ? toStreamInfo(row) : null
  }

  async listStreams(options: ListStreamsOptions = {}): Promise<{ streams: StreamInfo[]; total: number; next: string | null }> {
    await this.ready
    const where: string[] = []
    const params: unknown[] = []
    if (!options.includeDeleted) where.push('state = 0')
    if (options.nameContains) {
      params.push(options.nameContains)
      where.push(`strpos(lower(stream_id), lower($${params.length})) > 0`)
    }
    if (options.category) {
      params.push(options.category)
      where.push(`category = $${params.length}`)
    }
    if (options.eventType) {
      params.push(options.eventType)
      where.push(`EXISTS (SELECT 1 FROM stream_types t WHERE t.stream_id = streams.stream_id AND t.type = $${params.length})`)
    }
    const filtered = where.length ? `WHERE ${where.join(' AND ')}` : ''
    const total = (await this.query<{ n: number }>(`SELECT count(*) AS n FROM streams ${filtered}`, params)).rows[0].n
    const limit = options.limit ?? 200
    const page = [...where]
    const pageParams = [...params]
    if (options.after) {
      const [updated, ...rest] = options.after.split('|')
      pageParams.push(Number(updated), rest.join('|'))
      const u = `$${pageParams.length - 1}`
      const s = `$${pageParams.length}`
      page.push(`(coalesce(updated_at, 0) < ${u} OR (coalesce(updated_at, 0) = ${u} AND stream_id > ${s}))`)
    }
    pageParams.push(limit)
    const rows = (
      await this.query<StreamRow>(
        `SELECT * FROM streams ${page.length ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY coalesce(updated_at, 0) DESC, stream_id LIMIT $${pageParams.length}`,
        pageParams
      )
    ).rows
    const last = rows[rows.length - 1]
    const next = rows.length === limit && last ? `${last.updated_at ?? 0}|${last.stream_id}` : null
    return { streams: rows.map(toStreamInfo), total, next }
  }

  async headPosition(): Promise<number> {
    await this.ready
    return (await this.query<{ position: number }>('SELECT position FROM store_head WHERE id = 1', [], 'esw_head')).rows[0].position
  }

  async stats(): Promise<StoreStats> {
    await this.ready
    const q = async <R extends pg.QueryResultRow>(sql: string) => (await this.query<R>(sql)).rows
    const [{ events }] = await q<{ events: number }>('SELECT count(*) AS events FROM events')
    const [{ streams }] = await q<{ streams: number }>('SELECT count(*) AS streams FROM streams WHERE state = 0')
    const categories = await q<StoreStats['categories'][number]>(
      'SELECT category, count(*)::int AS streams, sum(event_count)::bigint AS events FROM streams WHERE state = 0 GROUP BY category ORDER BY events DESC'
    )
    const eventTypes = await q<StoreStats['eventTypes'][number]>(
      'SELECT type, sum(count)::bigint AS events FROM stream_types GROUP BY type ORDER BY events DESC, type'
    )
    const [{ bytes }] = await q<{ bytes: number }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind = 'r'`
    )
    return { events, streams, headPosition: await this.headPosition(), categories, eventTypes, databaseBytes: bytes }
  }

  // ---------------------------------------------------------------- following

  /**
   * Notices come from the database, in commit order: a notification per append (LISTEN/NOTIFY, sent by esw_append
   * at commit), and a poll of the head as the fallback for a notification that never came (a dropped listening
   * connection). Each position is announced once: `noticed` is the end of the announced prefix.
   */
  onAppended(listener: (notice: AppendedNotice) => void): () => void {
    this.assertOpen()
    this.emitter.on('appended', listener)
    this.startFollowing()
    return () => {
      this.emitter.off('appended', listener)
      if (this.emitter.listenerCount('appended') === 0) this.stopFollowing()
    }
  }

  subscribe(options: SubscribeOptions, handler: (event: RecordedEvent) => void | Promise<void>): Subscription {
    const subscription = startSubscription(
      {
        readAll: (o) => this.readAll(o),
        // Notices, and every poll that finds the head moved (the first poll always wakes): a commit that raced the
        // start of listening is read on the next poll at the latest.
        onWake: (listener) => {
          this.emitter.on('wake', listener)
          const stop = this.onAppended(() => listener())
          return () => {
            this.emitter.off('wake', listener)
            stop()
          }
        }
      },
      options,
      handler
    )
    this.subscriptions.add(subscription)
    void subscription.done.finally(() => this.subscriptions.delete(subscription)).catch(() => {})
    return subscription
  }

  private startFollowing(): void {
    if (this.closed) return
    if (!this.listening) this.startListening()
    if (!this.pollTimer) {
      this.polledHead = 0
      this.pollTimer = setInterval(() => void this.poll().catch(() => {}), this.pollIntervalMs)
      this.pollTimer.unref()
    }
  }

  private startListening(): void {
    this.listening = this.listen().catch(() => {
      // The poll covers for the notifications, and listens again on its next tick.
      this.listener = null
      this.listening = null
    })
  }

  private stopFollowing(): void {
    this.listenGeneration++
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = null
    const listener = this.listener
    this.listener = null
    this.listening = null
    this.noticedFrom = false
    this.lagging = null
    if (listener) void listener.end().catch(() => {})
  }

  private async listen(): Promise<void> {
    // A listen that stopFollowing or a newer listen made stale ends its connection instead of keeping it.
    const generation = ++this.listenGeneration
    const stale = () => this.closed || generation !== this.listenGeneration || this.emitter.listenerCount('appended') === 0
    const client = new pg.Client({ ...this.clientConfig, application_name: 'event-workbench-listen' })
    client.on('error', () => {
      // The connection went away: forget it; the poll fills in, and the next poll listens again.
      if (this.listener === client) {
        this.listener = null
        this.listening = null
      }
    })
    client.on('notification', (message) => {
      if (this.listener !== client || !message.payload) return
      void this.onNotification(JSON.parse(message.payload) as NoticePayload).catch(() => {})
    })
    try {
      await client.connect()
      await this.ready
      // Listening before the head is read: whatever commits after it is announced, what committed before it is not.
      await client.query(`LISTEN ${client.escapeIdentifier(notifyChannel(this.schema))}`)
      if (!stale() && !this.noticedFrom) {
        const head = await this.headPosition()
        if (!stale()) {
          this.noticed = head
          this.noticedFrom = true
        }
      }
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    if (stale()) {
      await client.end().catch(() => {})
      return
    }
    this.listener = client
  }

  private fillChain: Promise<void> = Promise.resolve()

  /** Notifications are handled one after another, so a gap filled from the database stays in order. */
  private onNotification(p: NoticePayload): Promise<void> {
    this.fillChain = this.fillChain.then(async () => {
      if (p.l <= this.noticed) return
      if (p.f > this.noticed + 1) await this.fill(p.f - 1)
      if (p.l <= this.noticed) return
      this.noticed = p.l
      const eventTypes = p.t ?? (await this.query<{ type: string }>('SELECT DISTINCT type FROM events WHERE position BETWEEN $1 AND $2', [p.f, p.l])).rows.map((r) => r.type)
      this.emitter.emit('appended', { streamId: p.s, firstPosition: p.f, lastPosition: p.l, count: p.n, types: eventTypes } satisfies AppendedNotice)
    })
    return this.fillChain
  }

  /** Announces positions (noticed, upTo] from the stored rows, one notice per run of one stream's events. */
  private async fill(upTo: number): Promise<void> {
    if (upTo <= this.noticed) return
    const rows = (
      await this.query<{ stream_id: string; position: number; type: string }>(
        'SELECT stream_id, position, type FROM events WHERE position > $1 AND position <= $2 ORDER BY position',
        [this.noticed, upTo]
      )
    ).rows
    this.noticed = upTo
    let run: AppendedNotice | null = null
    const flush = () => {
      if (run) this.emitter.emit('appended', run)
      run = null
    }
    for (const r of rows) {
      if (run && run.streamId === r.stream_id && run.lastPosition === r.position - 1) {
        run.lastPosition = r.position
        run.count++
        if (!run.types.includes(r.type)) run.types.push(r.type)
      } else {
        flush()
        run = { streamId: r.stream_id, firstPosition: r.position, lastPosition: r.position, count: 1, types: [r.type] }
      }
    }
    flush()
  }

  /** The fallback: a head ahead of the announced prefix for a whole interval means a notification was missed. */
  private async poll(): Promise<void> {
    if (this.closed) return
    if (!this.listening) this.startListening()
    const head = await this.headPosition()
    if (head > this.polledHead) {
      this.polledHead = head
      this.emitter.emit('wake')
    }
    if (!this.noticedFrom) return
    if (head <= this.noticed) {
      this.lagging = null
      return
    }
    if (this.lagging && this.lagging.noticed === this.noticed) {
      const upTo = this.lagging.head
      this.lagging = null
      this.fillChain = this.fillChain.then(() => this.fill(upTo))
      await this.fillChain
      return
    }
    this.lagging = { noticed: this.noticed, head }
  }

  private assertOpen() {
    if (this.closed) throw new RpcError('Internal', 'The event store is closed')
  }

  async close(): Promise<void> {
    if (this.closed) return
    for (const s of this.subscriptions) s.close()
    await Promise.all([...this.subscriptions].map((s) => s.done.catch(() => {})))
    this.closed = true
    this.stopFollowing()
    this.emitter.removeAllListeners()
    await this.ready.catch(() => {})
    await this.pool.end()
  }
}
