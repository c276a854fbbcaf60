import { RpcError } from '../../shared/rpc/errors'
import { MAX_EVENT_BYTES, categoryOf, type EventFilter } from '../../shared/model/events'
import type { SqliteEventStore, EventRow } from './sqlite-store'
import { bytesToUuid, isUuid, uuidToBytes } from './uuid'
import { checkStreamId } from './validation'

/** The fields of one NDJSON line, in this order. */
export const NDJSON_FIELDS = ['position', 'streamId', 'version', 'type', 'schemaVersion', 'id', 'data', 'metadata', 'recordedAt'] as const

export interface WorkProgress {
  onProgress?: (done: number, total: number | null) => void
  isCancelled?: () => boolean
  /** Where a job running user code marks when each call started (watched from outside). */
  watch?: Float64Array
}

/** One stored row as an NDJSON line; data and metadata are written as stored, so export → import → export is byte-identical. */
export function rowToLine(row: EventRow): string {
  return (
    `{"position":${row.position},"streamId":${JSON.stringify(row.stream_id)},"version":${row.version},` +
    `"type":${JSON.stringify(row.type)},"schemaVersion":${row.schema_version},"id":"${bytesToUuid(row.id)}",` +
    `"data":${row.data},"metadata":${row.metadata ?? 'null'},"recordedAt":"${new Date(row.recorded_at).toISOString()}"}\n`
  )
}

/**
 * Streams the log (or a filtered part of it) as NDJSON to a sink, a page at a time, so memory stays flat.
 * The sink may return a promise to apply back-pressure.
 */
export async function exportEvents(
  store: SqliteEventStore,
  filter: EventFilter,
  sink: (chunk: string) => void | Promise<void>,
  progress: WorkProgress = {},
  /** Rewrites each page before it is written (the log as read through the upcasters). */
  transform?: (rows: EventRow[]) => EventRow[]
): Promise<{ events: number; bytes: number }> {
  const head = store.head()
  const lower = Math.max(filter.fromPosition ?? 1, 1)
  const upper = Math.min(filter.toPosition ?? head, head)
  const span = Math.max(upper - lower + 1, 0)
  let from: number | null = lower
  let events = 0
  let bytes = 0
  while (from !== null && from <= upper) {
    if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'Export cancelled')
    const page = store.readAllRawSync({ filter: { ...filter, toPosition: upper }, from, limit: 2000 })
    const rows = transform ? transform(page.rows) : page.rows
    let chunk = ''
    for (const row of rows) chunk += rowToLine(row)
    if (chunk) {
      events += rows.length
      bytes += Buffer.byteLength(chunk)
      await sink(chunk)
    }
    from = page.next
    const reached = from === null ? span : from - lower
    progress.onProgress?.(reached, span)
  }
  return { events, bytes }
}

export interface ImportResult {
  events: number
  skipped: number
  streams: number
  /** restore: into an empty store, positions kept; append: per stream after what is there, positions renumbered. */
  mode: 'restore' | 'append'
}

interface StreamState {
  version: number
  count: number
  first: number | null
  last: number | null
  created: number | null
  updated: number | null
  exists: boolean
  /** {type: count} of the stream's stored events, as on its row. */
  types: Map<string, number>
}

type ParsedLine = {
  position: number
  streamId: string
  version: number
  type: string
  schemaVersion: number
  id: Buffer
  data: string
  metadata: string | null
  recordedAt: number
}

function lineError(line: number, message: string, field?: string): RpcError {
  return new RpcError('InvalidInput', `Line ${line}: ${message}`, { line, field })
}

/** Parses and checks one NDJSON line; the error names the line and the field. */
export function parseLine(text: string, line: number): ParsedLine {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw lineError(line, `not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw lineError(line, 'expected a JSON object per line')
  const o = value as Record<string, unknown>
  const int = (field: string, min: number): number => {
    const v = o[field]
    if (v === undefined) throw lineError(line, `missing field ${field}`, field)
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw lineError(line, `${field} must be a whole number of at least ${min}, got ${JSON.stringify(v)}`, field)
    return v
  }
  const str = (field: string): string => {
    const v = o[field]
    if (v === undefined) throw lineError(line, `missing field ${field}`, field)
    if (typeof v !== 'string' || v.length === 0) throw lineError(line, `${field} must be a non-empty string, got ${JSON.stringify(v)}`, field)
    return v
  }
  const position = int('position', 1)
  const streamId = str('streamId')
  try {
    checkStreamId(streamId)
  } catch (error) {
    throw lineError(line, (error as Error).message, 'streamId')
  }
  const version = int('version', 1)
  const type = str('type')
  const schemaVersion = o.schemaVersion === undefined ? 1 : int('schemaVersion', 1)
  const id = str('id')
  if (!isUuid(id)) throw lineError(line, `id must be a UUID, got ${JSON.stringify(id)}`, 'id')
  if (typeof o.data !== 'object' || o.data === null || Array.isArray(o.data)) throw lineError(line, 'data must be a JSON object', 'data')
  if (o.metadata !== undefined && o.metadata !== null && (typeof o.metadata !== 'object' || Array.isArray(o.metadata))) {
    throw lineError(line, 'metadata must be a JSON object or null', 'metadata')
  }
  const recorded = str('recordedAt')
  const recordedAt = Date.parse(recorded)
  if (Number.isNaN(recordedAt)) throw lineError(line, `recordedAt must be an ISO time, got ${JSON.stringify(recorded)}`, 'recordedAt')
  const data = JSON.stringify(o.data)
  const metadata = o.metadata == null ? null : JSON.stringify(o.metadata)
  if (data.length + (metadata?.length ?? 0) > MAX_EVENT_BYTES) throw lineError(line, `the event is larger than ${MAX_EVENT_BYTES} bytes`, 'data')
  return { position, streamId, version, type, schemaVersion, id: uuidToBytes(id), data, metadata, recordedAt }
}

/**
 * Imports NDJSON lines, all or nothing: one write transaction, rolled back on the first bad line (the error
 * names the line) or on cancel. Into an empty store the log is restored exactly (positions, ids, versions,
 * times); into a non-empty one each stream's events must follow its current version and get new positions.
 * Lines already stored (same id, stream and version) are skipped, so importing a file twice changes nothing.
 */
export async function importEvents(store: SqliteEventStore, lines: AsyncIterable<string> | Iterable<string>, progress: WorkProgress & { totalBytes?: number } = {}): Promise<ImportResult> {
  const db = store.db
  const streams = new Map<string, StreamState>()
  const getStream = db.prepare<
    [string],
    { version: number; event_count: number; first_position: number | null; last_position: number | null; created_at: number | null; updated_at: number | null; state: number; types: string }
  >('SELECT version, event_count, first_position, last_position, created_at, updated_at, state, types FROM streams WHERE stream_id = ?')
  const insertAt = db.prepare('INSERT INTO events (position, stream_id, version, type, schema_version, id, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const insert = db.prepare('INSERT INTO events (stream_id, version, type, schema_version, id, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  const upsertStream = db.prepare(
    `INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, types)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(stream_id) DO UPDATE SET version = excluded.version, event_count = excluded.event_count,
       first_position = excluded.first_position, last_position = excluded.last_position, updated_at = excluded.updated_at, types = excluded.types,
       state = CASE state WHEN 1 THEN 0 ELSE state END`
  )

  db.exec('BEGIN IMMEDIATE')
  let committed = false
  try {
    // The stream rows read below must count every event (an append may leave them trailing; see schema.ts).
    store.settleStreams()
    const mode: ImportResult['mode'] = store.head() === 0 ? 'restore' : 'append'
    let lineNo = 0
    let events = 0
    let skipped = 0
    let lastPosition = 0
    let bytesRead = 0
    for await (const raw of lines as AsyncIterable<string>) {
      lineNo++
      bytesRead += raw.length + 1
      const text = raw.trim()
      if (text === '') continue
      if (lineNo % 1000 === 0) {
        if (progress.isCancelled?.()) throw new RpcError('Cancelled', `Import cancelled at line ${lineNo}; nothing was imported`)
        progress.onProgress?.(bytesRead, progress.totalBytes ?? null)
      }
      const e = parseLine(text, lineNo)
      let s = streams.get(e.streamId)
      if (!s) {
        const row = getStream.get(e.streamId)
        if (row?.state === 2) throw lineError(lineNo, `stream ${e.streamId} is tombstoned in this store`, 'streamId')
        s = row
          ? {
              version: row.version,
              count: row.event_count,
              first: row.first_position,
              last: row.last_position,
              created: row.created_at,
              updated: row.updated_at,
              exists: true,
              types: new Map(Object.entries(JSON.parse(row.types) as Record<string, number>))
            }
          : { version: 0, count: 0, first: null, last: null, created: null, updated: null, exists: false, types: new Map() }
        streams.set(e.streamId, s)
      }
      // Into a non-empty store an id may be stored already: as the same event (skipped), or elsewhere (refused below;
      // an id the store made is not in the id index, so the unique index alone would not see it).
      const stored = mode === 'append' ? store.findEventById(e.id) : undefined
      if (stored && stored.stream_id === e.streamId && stored.version === e.version) {
        skipped++
        continue
      }
      if (e.version !== s.version + 1) {
        throw lineError(lineNo, `version ${e.version} of stream ${e.streamId} does not follow version ${s.version}`, 'version')
      }
      if (stored) throw lineError(lineNo, `event id ${bytesToUuid(e.id)} is already stored elsewhere in the log`, 'id')
      let position: number
      try {
        if (mode === 'restore') {
          if (e.position <= lastPosition) throw lineError(lineNo, `position ${e.position} does not come after position ${lastPosition}`, 'position')
          insertAt.run(e.position, e.streamId, e.version, e.type, e.schemaVersion, e.id, e.data, e.metadata, e.recordedAt)
          position = e.position
        } else {
          position = Number(insert.run(e.streamId, e.version, e.type, e.schemaVersion, e.id, e.data, e.metadata, e.recordedAt).lastInsertRowid)
        }
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw lineError(lineNo, `event id ${bytesToUuid(e.id)} is already stored elsewhere in the log`, 'id')
        }
        throw error
      }
      lastPosition = position
      s.version = e.version
      s.count++
      s.first ??= position
      s.last = position
      s.created ??= e.recordedAt
      s.updated = e.recordedAt
      s.types.set(e.type, (s.types.get(e.type) ?? 0) + 1)
      events++
    }
    if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'Import cancelled; nothing was imported')
    let touched = 0
    for (const [streamId, s] of streams) {
      if (s.last === null) continue
      upsertStream.run(streamId, categoryOf(streamId), s.version, s.count, s.first, s.last, s.created, s.updated, JSON.stringify(Object.fromEntries(s.types)))
      touched++
    }
    // Every row now counts the imported events: the settled position moves past them.
    store.settleStreams()
    db.exec('COMMIT')
    committed = true
    progress.onProgress?.(bytesRead, progress.totalBytes ?? bytesRead)
    return { events, skipped, streams: touched, mode }
  } finally {
    if (!committed && db.inTransaction) db.exec('ROLLBACK')
  }
}
