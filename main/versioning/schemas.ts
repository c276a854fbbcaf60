import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type Database from 'better-sqlite3'
import type { EventSchema, InferredShape, SchemaDrift, SchemaExample } from '../../shared/contract/versioning'
import type { EventRow, SqliteEventStore } from '../store/sqlite-store'
import { cutExample, emptyShape, fromInferredShape, observe, toInferredShape, type ShapeNode } from './inferred-shape'

/**
 * Schema inference: for each event type and schema version, the shape of `data` observed in the log, kept in the
 * workspace database and brought up to date incrementally. A catch-up reads the events after a checkpoint page by
 * page and folds them into the stored shapes; each page's shapes, drift counts and checkpoint commit in one
 * transaction, so any number of processes can catch up on the same file and the result is what one pass over the
 * log gives. Events hidden by stream metadata when the inference reaches them are not counted; events removed by a
 * later scavenge stay counted.
 */

/** Bumped when the stored shapes change form: the inference then starts again from the first event. */
const FORMAT = 1
const DAY_MS = 86_400_000

const ddl = `
CREATE TABLE IF NOT EXISTS schema_inference (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  format INTEGER NOT NULL,
  position INTEGER NOT NULL,
  -- bumped by every commit: a process's cached shapes are valid only for the commit it made or read
  commits INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS schema_shapes (
  type TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  count INTEGER NOT NULL,
  first_position INTEGER NOT NULL,
  last_position INTEGER NOT NULL,
  first_recorded_at INTEGER NOT NULL,
  last_recorded_at INTEGER NOT NULL,
  shape TEXT NOT NULL,
  examples TEXT NOT NULL,
  PRIMARY KEY (type, schema_version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schema_drift (
  type TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  -- whole days since the epoch (UTC) of recordedAt
  day INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (type, schema_version, day)
) WITHOUT ROWID;
`

interface Entry {
  type: string
  schemaVersion: number
  count: number
  firstPosition: number
  lastPosition: number
  firstRecordedAt: number
  lastRecordedAt: number
  shape: ShapeNode
  /** The first event and the two latest; data cut when stored. */
  examples: SchemaExample[]
}

interface ShapeRow {
  type: string
  schema_version: number
  count: number
  first_position: number
  last_position: number
  first_recorded_at: number
  last_recorded_at: number
  shape: string
  examples: string
}

interface Checkpoint {
  position: number
  commits: number
}

export interface CatchUpResult {
  /** Events folded in by this call (by this process). */
  events: number
  /** The position the inference has reached. */
  position: number
  /** The event types whose shapes changed in this call. */
  types: string[]
}

export interface SchemaInferenceOptions {
  /** Events per page: each page is one transaction, and the async catch-up yields to the event loop between pages. */
  pageSize?: number
  /** Called between reading a page and committing it (tests move another connection in between). */
  beforeCommit?: () => void
}

class CheckpointMoved extends Error {}

const key = (type: string, schemaVersion: number) => `${schemaVersion}\u0000${type}`

/** The incremental schema inference of one event store. */
export class SchemaInference {
  private readonly db: Database.Database
  private readonly pageSize: number
  private readonly beforeCommit: (() => void) | undefined
  private ready = false
  private closed = false
  /** Entries as of a checkpoint, so a page does not parse the stored shapes again; dropped when the file moved on. */
  private cache: { at: Checkpoint; entries: Map<string, Entry> } | null = null
  private running: Promise<CatchUpResult> | null = null
  private statements: ReturnType<SchemaInference['prepare']> | null = null

  constructor(
    private readonly store: SqliteEventStore,
    options: SchemaInferenceOptions = {}
  ) {
    this.db = store.db
    this.pageSize = options.pageSize ?? 500
    this.beforeCommit = options.beforeCommit
  }

  private prepare() {
    const db = this.db
    return {
      checkpoint: db.prepare<[], Checkpoint & { format: number }>('SELECT format, position, commits FROM schema_inference WHERE id = 1'),
      setCheckpoint: db.prepare('UPDATE schema_inference SET position = ?, commits = commits + 1 WHERE id = 1'),
      entry: db.prepare<[string, number], ShapeRow>('SELECT * FROM schema_shapes WHERE type = ? AND schema_version = ?'),
      saveEntry: db.prepare(
        `INSERT INTO schema_shapes (type, schema_version, count, first_position, last_position, first_recorded_at, last_recorded_at, shape, examples)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (type, schema_version) DO UPDATE SET count = excluded.count, last_position = excluded.last_position,
           last_recorded_at = excluded.last_recorded_at, shape = excluded.shape, examples = excluded.examples`
      ),
      addDrift: db.prepare(
        'INSERT INTO schema_drift (type, schema_version, day, count) VALUES (?, ?, ?, ?) ON CONFLICT (type, schema_version, day) DO UPDATE SET count = count + excluded.count'
      ),
      all: db.prepare<[], ShapeRow>('SELECT * FROM schema_shapes ORDER BY type, schema_version'),
      ofType: db.prepare<[string], ShapeRow>('SELECT * FROM schema_shapes WHERE type = ? ORDER BY schema_version'),
      drift: db.prepare<[string], { schema_version: number; day: number; count: number }>('SELECT schema_version, day, count FROM schema_drift WHERE type = ? ORDER BY day, schema_version')
    }
  }

  /** Creates the tables (once per connection), and starts over when they hold another format. */
  private q() {
    if (!this.ready) {
      this.db.transaction(() => {
        this.db.exec(ddl)
        const row = this.db.prepare<[], { format: number }>('SELECT format FROM schema_inference WHERE id = 1').get()
        if (row?.format === FORMAT) return
        this.db.exec('DELETE FROM schema_shapes; DELETE FROM schema_drift; DELETE FROM schema_inference')
        this.db.prepare('INSERT INTO schema_inference (id, format, position, commits) VALUES (1, ?, 0, 0)').run(FORMAT)
      }).immediate()
      this.statements = this.prepare()
      this.ready = true
    }
    return this.statements!
  }

  private checkpoint(): Checkpoint {
    const row = this.q().checkpoint.get()
    return { position: row?.position ?? 0, commits: row?.commits ?? 0 }
  }

  /** The position up to which the stored shapes include the log. */
  position(): number {
    return this.checkpoint().position
  }

  /**
   * Folds one page of events into the shapes and commits it. Returns null when there was nothing to read.
   * Throws CheckpointMoved when another connection committed in between (the page is then read again).
   */
  private step(pageSize: number): CatchUpResult | null {
    const q = this.q()
    const at = this.checkpoint()
    if (!this.cache || this.cache.at.position !== at.position || this.cache.at.commits !== at.commits) this.cache = { at, entries: new Map() }
    const cache = this.cache
    const entries = cache.entries
    const page = this.store.readAllRawSync({ from: at.position + 1, limit: pageSize })
    const reached = Math.max(at.position, page.next !== null ? page.next - 1 : page.headPosition)
    if (reached === at.position) return null
    const touched = new Map<string, Entry>()
    const drift = new Map<string, { type: string; schemaVersion: number; day: number; count: number }>()
    try {
      for (const row of page.rows) this.fold(row, entries, touched, drift)
      this.beforeCommit?.()
      this.db.transaction(() => {
        const now = this.checkpoint()
        if (now.position !== at.position || now.commits !== at.commits) throw new CheckpointMoved()
        for (const entry of touched.values()) {
          entry.examples = entry.examples.map((e) => ({ ...e, data: cutExample(e.data) as Record<string, unknown> }))
          q.saveEntry.run(
            entry.type,
            entry.schemaVersion,
            entry.count,
            entry.firstPosition,
            entry.lastPosition,
            entry.firstRecordedAt,
            entry.lastRecordedAt,
            JSON.stringify(toInferredShape(entry.shape)),
            JSON.stringify(entry.examples)
          )
        }
        for (const d of drift.values()) q.addDrift.run(d.type, d.schemaVersion, d.day, d.count)
        q.setCheckpoint.run(reached)
      }).immediate()
    } catch (error) {
      // The cached entries were changed by this page: they are only good if it committed.
      this.cache = null
      throw error
    }
    cache.at = { position: reached, commits: at.commits + 1 }
    return { events: page.rows.length, position: reached, types: [...new Set([...touched.values()].map((e) => e.type))] }
  }

  private fold(row: EventRow, entries: Map<string, Entry>, touched: Map<string, Entry>, drift: Map<string, { type: string; schemaVersion: number; day: number; count: number }>) {
    const k = key(row.type, row.schema_version)
    let entry = entries.get(k)
    if (!entry) {
      entry = this.load(row.type, row.schema_version) ?? {
        type: row.type,
        schemaVersion: row.schema_version,
        count: 0,
        firstPosition: row.position,
        lastPosition: row.position,
        firstRecordedAt: row.recorded_at,
        lastRecordedAt: row.recorded_at,
        shape: emptyShape(),
        examples: []
      }
      entries.set(k, entry)
    }
    const data = JSON.parse(row.data) as Record<string, unknown>
    observe(entry.shape, data)
    entry.count++
    entry.lastPosition = row.position
    entry.lastRecordedAt = row.recorded_at
    const example = { position: row.position, streamId: row.stream_id, recordedAt: row.recorded_at, data }
    if (entry.examples.length < 3) entry.examples.push(example)
    else entry.examples = [entry.examples[0], entry.examples[2], example]
    touched.set(k, entry)
    const day = Math.floor(row.recorded_at / DAY_MS)
    const dk = `${k}\u0000${day}`
    const d = drift.get(dk)
    if (d) d.count++
    else drift.set(dk, { type: row.type, schemaVersion: row.schema_version, day, count: 1 })
  }

  private load(type: string, schemaVersion: number): Entry | null {
    const row = this.q().entry.get(type, schemaVersion)
    if (!row) return null
    return {
      type,
      schemaVersion,
      count: row.count,
      firstPosition: row.first_position,
      lastPosition: row.last_position,
      firstRecordedAt: row.first_recorded_at,
      lastRecordedAt: row.last_recorded_at,
      shape: fromInferredShape(JSON.parse(row.shape) as InferredShape),
      examples: JSON.parse(row.examples) as SchemaExample[]
    }
  }

  /** Brings the shapes up to the head of the log in one go (the command line; tests). */
  catchUpSync(options: { onProgress?: (position: number, head: number) => void } = {}): CatchUpResult {
    const total: CatchUpResult = { events: 0, position: 0, types: [] }
    const types = new Set<string>()
    for (;;) {
      let result: CatchUpResult | null
      try {
        result = this.step(this.pageSize)
      } catch (error) {
        if (error instanceof CheckpointMoved) continue
        throw error
      }
      if (!result) break
      total.events += result.events
      for (const t of result.types) types.add(t)
      options.onProgress?.(result.position, this.store.head())
    }
    total.position = this.position()
    total.types = [...types]
    return total
  }

  /**
   * Brings the shapes up to the head of the log a page at a time, yielding to the event loop between pages, so the
   * main thread stays responsive on a large first run. Calls while one runs share it: it reads until it finds
   * nothing new, so it also takes in what was appended before the later call.
   */
  catchUp(): Promise<CatchUpResult> {
    if (this.running) return this.running
    const run = this.runCatchUp().finally(() => {
      if (this.running === run) this.running = null
    })
    this.running = run
    return run
  }

  private async runCatchUp(): Promise<CatchUpResult> {
    const types = new Set<string>()
    let events = 0
    let busySince: number | null = null
    while (!this.closed) {
      let result: CatchUpResult | null
      try {
        result = this.step(this.pageSize)
        busySince = null
      } catch (error) {
        if (error instanceof CheckpointMoved) continue
        // Another connection holds the write lock (an import, say): wait without blocking the thread.
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error
        busySince ??= Date.now()
        if (Date.now() - busySince > 60_000) throw error
        await new Promise((resolve) => setTimeout(resolve, 20))
        continue
      }
      if (!result) break
      events += result.events
      for (const t of result.types) types.add(t)
      await yieldToLoop()
    }
    return { events, position: this.closed ? 0 : this.position(), types: [...types] }
  }

  /**
   * Keeps the shapes up to date while the store is open: catches up now, and again shortly after appends (by this
   * or another process); `onUpdated` hears of each catch-up that took in events. The returned function stops it.
   */
  follow(onUpdated?: (update: { position: number; types: string[] }) => void, delayMs = 200): () => void {
    let timer: NodeJS.Timeout | null = null
    const run = () => {
      timer = null
      this.catchUp().then(
        (result) => {
          if (result.events > 0 && !this.closed) onUpdated?.({ position: result.position, types: result.types })
        },
        // A store being closed, a busy file for a minute: the next append or request tries again.
        () => {}
      )
    }
    const schedule = () => {
      if (timer || this.closed) return
      timer = setTimeout(run, delayMs)
      timer.unref?.()
    }
    const stopListening = this.store.onAppended(schedule)
    schedule()
    return () => {
      if (timer) clearTimeout(timer)
      timer = null
      stopListening()
      this.close()
    }
  }

  /** Stops any catch-up at its next page; the store is about to close. */
  close(): void {
    this.closed = true
  }

  /** The inferred schemas, of one event type or of all, ordered by type and schema version. */
  list(type?: string): EventSchema[] {
    const q = this.q()
    const rows = type === undefined ? q.all.all() : q.ofType.all(type)
    return rows.map((row) => ({
      type: row.type,
      schemaVersion: row.schema_version,
      count: row.count,
      firstPosition: row.first_position,
      lastPosition: row.last_position,
      firstRecordedAt: row.first_recorded_at,
      lastRecordedAt: row.last_recorded_at,
      shape: JSON.parse(row.shape) as InferredShape,
      examples: JSON.parse(row.examples) as SchemaExample[]
    }))
  }

  /** The mix of schema versions of one type over time, in at most `maxBuckets` buckets of whole days. */
  drift(type: string, maxBuckets = 60): SchemaDrift {
    const rows = this.q().drift.all(type)
    if (rows.length === 0) return { type, versions: [], bucketDays: 1, buckets: [] }
    const versions = [...new Set(rows.map((r) => r.schema_version))].sort((a, b) => a - b)
    const column = new Map(versions.map((v, i) => [v, i]))
    const firstDay = rows[0].day
    const lastDay = rows[rows.length - 1].day
    const bucketDays = Math.ceil((lastDay - firstDay + 1) / Math.max(1, maxBuckets))
    const buckets: SchemaDrift['buckets'] = []
    for (let day = firstDay; day <= lastDay; day += bucketDays) {
      buckets.push({ start: day * DAY_MS, end: (day + bucketDays) * DAY_MS, counts: versions.map(() => 0), total: 0 })
    }
    for (const r of rows) {
      const bucket = buckets[Math.floor((r.day - firstDay) / bucketDays)]
      bucket.counts[column.get(r.schema_version)!] += r.count
      bucket.total += r.count
    }
    return { type, versions, bucketDays, buckets }
  }

  /** Forgets everything inferred: the next catch-up starts from the first event (after a scavenge, say). */
  reset(): void {
    this.q()
    this.db.transaction(() => {
      this.db.exec('DELETE FROM schema_shapes; DELETE FROM schema_drift')
      this.db.prepare('UPDATE schema_inference SET position = 0, commits = commits + 1 WHERE id = 1').run()
    }).immediate()
    this.cache = null
  }
}

const inferences = new WeakMap<SqliteEventStore, SchemaInference>()

/** The one schema inference of an open store in this process (its follower and its requests share it). */
export function schemaInference(store: SqliteEventStore): SchemaInference {
  let inference = inferences.get(store)
  if (!inference) inferences.set(store, (inference = new SchemaInference(store)))
  return inference
}
