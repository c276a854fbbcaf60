import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import type pg from 'pg'
import type { ProjectionDescriptor, PublishedState, TableDef } from '../../shared/contract/projections'
import { inPgTransaction } from '../store/postgres-store'
import { LOCK_CLASS } from '../store/postgres-schema'
import { unreachable } from '../store/replica'
import type { Write } from './engine'
import { encodeValue, quote, readCheckpoint, schemaSignature, sqlTableName, type Row } from './tables'

/**
 * Publishes a PostgreSQL workspace's read models to the server, next to the events they were built from.
 *
 * The workbench builds read models in its working copy (events.db), where a batch's writes and its checkpoint commit
 * in one SQLite transaction. Each committed batch is then published in one PostgreSQL transaction that checks the
 * server's checkpoint for the projection and moves it to where the batch ended. A batch's writes are rows as they
 * stand at its end (a row per key, or its delete), so they make the server exact whenever its checkpoint lies from
 * the batch's start to before its end (another workbench with the same code published part of it); a batch the
 * server already holds is skipped. Every event's effect is on the server once, whoever publishes.
 *
 * Anything else is published whole — the tables' rows and the checkpoint replaced in one transaction (tables of the
 * same layout are emptied and kept, with what others made on them; tables of another layout are made anew): the
 * server lacks events before a batch, or this workbench rebuilt, reset, promoted a shadow or caught up in a job. A
 * whole copy never moves the server's checkpoint back: a copy behind it waits, and with the same code goes on batch
 * by batch from the batch that reaches the server's position. The server's checkpoint records a hash of the code that built
 * its rows; a workbench with other code does not publish over it until it rebuilds or resets the projection (takes
 * it over). The working copy records which code built its own rows (builtBy): rows of other code are not published.
 *
 * What the server refuses for good (a value its column cannot hold, a name too long for it, a table of a changed
 * layout that a view depends on) stops publishing that projection, named, until new code, a rebuild or a reset, or
 * a commit after a while; a server that cannot be reached is tried again.
 */

export interface PublisherOptions {
  pool: pg.Pool
  /** The server schema (locks are taken per schema and projection). */
  schema?: string
  /** End the pool on close (a pool of the publisher's own). */
  ownsPool?: boolean
  /** The working copy whose read-model tables are published. */
  db: Database.Database
  /** Whether the projection's local tables are settled (no job thread writing them) so they can be read whole. */
  settled: (name: string) => boolean
  onState?: (name: string) => void
  /** First wait before publishing again after the server could not be reached (doubles up to 30 s). */
  retryMs?: number
  /** After a refusal, a commit tries again once this long has passed (ms). */
  refusedRetryMs?: number
  /** Rows read and inserted at a time when publishing whole (tests make it small). */
  chunkRows?: number
  /** Batches kept waiting to be published before they are merged into one. */
  maxQueue?: number
}

interface ServerCheckpoint {
  position: number
  code: string
  schema: string
  tables: string[]
}

type Batch = { from: number; to: number; writes: Write[] }

interface Item {
  descriptor: ProjectionDescriptor
  code: string
  /** Committed here, not yet published, in commit order. */
  queue: Batch[]
  /** Publish the whole projection instead of the queue. */
  whole: boolean
  /** Rebuilt or reset here: replace the server's copy even if other code made it. */
  takeOver: boolean
  /** Moves on each request for a whole copy: an attempt that began before one does not clear it. */
  generation: number
  running: boolean
  again: boolean
  /** When the server refused this projection for good (null: it did not). */
  refusedAt: number | null
  state: PublishedState
  retryMs: number
  timer: NodeJS.Timeout | null
}

const PG_TYPES: Record<string, string> = { text: 'text', integer: 'bigint', real: 'double precision', json: 'jsonb' }
const MAX_PARAMS = 30_000
const MAX_NAME_BYTES = 63
export const MIXED = 'mixed'
/** A JSON text with the escape of a NUL character (not an escaped backslash followed by u0000). */
const JSON_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/

/** A hash of a projection's code: two workbenches with the same one build the same rows from the same log. */
export function codeHash(descriptor: ProjectionDescriptor, source: string, upcasters: string[] = []): string {
  const hash = createHash('sha256')
  // Line endings as checked out do not change what the code does.
  for (const part of [source, descriptor.exportName, schemaSignature(descriptor), ...upcasters]) hash.update(part.replace(/\r\n/g, '\n')).update('\0')
  return hash.digest('hex').slice(0, 32)
}

/** What the server refuses for good: publishing it again fails again until the projection's code changes. */
class Refusal extends Error {}

let textCast: Database.Statement<[number], string> | null = null

/**
 * A number as the working copy's text column holds it: SQLite prints it (7 as 7.0, 0.1 + 0.2 as 0.3), so a published
 * batch holds the same text as the copy and as a whole copy, which reads it from there.
 */
function sqliteText(value: number): string {
  textCast ??= new Database(':memory:').prepare<[number], string>('SELECT CAST(? AS TEXT)').pluck()
  return textCast.get(value)!
}

/** A value as the working copy stores it, checked and turned into what the server's column takes. */
function serverValue(projection: string, table: string, column: string, type: string, value: unknown, where: string): unknown {
  if (value === null || value === undefined) return null
  const bad = (what: string) =>
    new Refusal(`Projection ${projection}, table ${table}, column ${column}: ${JSON.stringify(value).slice(0, 80)} is not ${what} (${where}); the server's column is ${PG_TYPES[type]}`)
  if (type === 'integer') {
    if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63) return value
    if (typeof value === 'bigint') return value.toString()
    throw bad('an integer in range')
  }
  if (type === 'real') {
    if (typeof value === 'number') return Number.isNaN(value) ? null : value
    throw bad('a number')
  }
  const text = typeof value === 'string' ? value : typeof value === 'number' ? sqliteText(value) : typeof value === 'bigint' ? String(value) : null
  if (text === null) throw bad(type === 'json' ? 'JSON text' : 'text')
  // SQLite keeps NUL characters; PostgreSQL text and jsonb cannot hold them.
  if (text.includes('\0') || (type === 'json' && JSON_NUL.test(text))) throw bad('storable: it holds a NUL character')
  return text
}

/** Errors worth trying again: the server away, a deadlock, a cancelled statement, a server short of resources. */
function transient(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? ''
  return unreachable(error) || /^(08|40|53|57)/.test(code)
}

function checkName(projection: string, name: string): void {
  const bytes = Buffer.byteLength(name)
  if (bytes > MAX_NAME_BYTES) throw new Refusal(`Projection ${projection}: the table name ${name} is ${bytes} bytes and PostgreSQL names hold ${MAX_NAME_BYTES}; shorten the projection's or the table's name`)
}

/** An index name that fits PostgreSQL's limit and is the same for the same table and index. */
function indexName(sqlName: string, index: number): string {
  return `rmix_${createHash('sha256').update(`${sqlName}:${index}`).digest('hex').slice(0, 24)}`
}

export class ReadModelPublisher {
  private readonly items = new Map<string, Item>()
  private closed = false
  private checkpointsExist = false
  private readonly running = new Set<Promise<void>>()
  private readonly stats = new Map<string, { batches: number; wholeCopies: number; failures: number }>()

  constructor(private readonly options: PublisherOptions) {
    // Which code built each projection's rows here (see builtBy).
    options.db.exec('CREATE TABLE IF NOT EXISTS projection_builds (projection TEXT PRIMARY KEY, code TEXT NOT NULL)')
    this.builds = options.db.prepare('SELECT code FROM projection_builds WHERE projection = ?')
    this.keepBuild = options.db.prepare('INSERT OR IGNORE INTO projection_builds (projection, code) VALUES (?, ?)')
    this.replaceBuild = options.db.prepare('INSERT OR REPLACE INTO projection_builds (projection, code) VALUES (?, ?)')
  }

  private readonly builds: Database.Statement<[string], { code: string }>
  private readonly keepBuild: Database.Statement<[string, string]>
  private readonly replaceBuild: Database.Statement<[string, string]>

  /**
   * The hash of the code that built a projection's rows in the working copy: recorded when they are built from
   * zero (a new projection, a reset, a promoted rebuild or shadow); 'mixed' once batches of other code were added to
   * them (an edit without a rebuild). Only rows built by the code loaded now are published.
   */
  builtBy(name: string): string | null {
    return this.builds.get(name)?.code ?? null
  }

  /** Records the code that builds a projection's rows (or a shadow run's, under its checkpoint name). */
  recordBuild(name: string, code: string, replace = true): void {
    ;(replace ? this.replaceBuild : this.keepBuild).run(name, code)
  }

  /** Rows of one code were added to by other code: they belong to neither. */
  private markMixed(name: string, code: string): void {
    const built = this.builtBy(name)
    if (built !== code && built !== MIXED) this.recordBuild(name, MIXED)
  }

  /** The projections of the workspace and a hash of each one's code; a new one or new code is published whole. */
  setProjections(list: Array<{ descriptor: ProjectionDescriptor; code: string }>): void {
    const names = new Set(list.map((p) => p.descriptor.name))
    for (const [name, item] of this.items) {
      if (names.has(name)) continue
      if (item.timer) clearTimeout(item.timer)
      this.items.delete(name)
    }
    for (const { descriptor, code } of list) {
      // Rows already here were built by the code loaded first with this record (a workspace opened before records).
      this.recordBuild(descriptor.name, code, false)
      const old = this.items.get(descriptor.name)
      if (old && old.code === code) {
        old.descriptor = descriptor
        continue
      }
      if (old?.timer) clearTimeout(old.timer)
      const stats = this.stats.get(descriptor.name) ?? { batches: 0, wholeCopies: 0, failures: 0 }
      this.stats.set(descriptor.name, stats)
      this.items.set(descriptor.name, {
        descriptor,
        code,
        queue: [],
        whole: true,
        takeOver: false,
        generation: 0,
        running: false,
        again: false,
        refusedAt: null,
        state: old?.state ?? { state: 'behind', position: null, error: null, publishedAt: null, ...stats },
        retryMs: this.options.retryMs ?? 1000,
        timer: null
      })
      this.kick(descriptor.name)
    }
  }

  /** A batch committed in the working copy (its writes as the engine committed them). */
  committed(name: string, batch: Batch): void {
    const item = this.items.get(name)
    if (!item) return
    this.markMixed(name, item.code)
    if (item.refusedAt !== null) {
      // Refused for good a while ago: a later commit may have overwritten what was refused.
      if (Date.now() - item.refusedAt < (this.options.refusedRetryMs ?? 60_000)) return
      this.replaced(name)
      return
    }
    // Waiting to be published whole, the next attempt reads the tables as they will be; during an attempt, a
    // commit after its snapshot is published after it.
    if (!item.whole || item.running) {
      item.queue.push({ from: batch.from, to: batch.to, writes: batch.writes })
      // Many batches waiting (a slow server): they are merged into one, the last write of each row winning (a batch
      // is rows as they stand at its end, so the merge is too).
      if (item.queue.length > (this.options.maxQueue ?? 500)) item.queue = [mergeBatches(item.queue)]
    }
    this.kick(name)
  }

  /**
   * The projection's tables changed here as a whole: a job's catch-up, or (takeOver) a reset, rebuild or promoted
   * shadow, which replaces the server's copy even when other code made it. `builtWith`: the code the job ran (the
   * code loaded now when not given).
   */
  replaced(name: string, takeOver = false, builtWith?: string): void {
    const item = this.items.get(name)
    const code = builtWith ?? item?.code
    // Built from zero (even while the projection is not loaded); a catch-up job's rows were added by its code.
    if (takeOver && code) this.recordBuild(name, code)
    if (!item) return
    if (!takeOver) this.markMixed(name, code ?? MIXED)
    item.generation++
    item.whole = true
    item.takeOver ||= takeOver
    item.refusedAt = null
    item.queue = []
    this.kick(name)
  }

  /** Something that held publishing up ended (a job thread): try again. */
  nudge(name: string): void {
    this.kick(name)
  }

  state(name: string): PublishedState | null {
    return this.items.get(name)?.state ?? null
  }

  /** Resolves when nothing is being published (tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running])
  }

  /** Stops publishing; waits a little for what is on its way (the next open publishes what is left). */
  async close(): Promise<void> {
    this.closed = true
    for (const item of this.items.values()) if (item.timer) clearTimeout(item.timer)
    const aWhile = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref())
    await Promise.race([this.idle(), aWhile(5000)])
    if (this.options.ownsPool) await Promise.race([this.options.pool.end().catch(() => {}), aWhile(2000)])
  }

  private kick(name: string): void {
    const item = this.items.get(name)
    if (!item || this.closed) return
    if (item.running) {
      item.again = true
      return
    }
    // Backing off after the server could not be reached: the timer runs what waits.
    if (item.timer) return
    const run = this.run(name, item).finally(() => this.running.delete(run))
    this.running.add(run)
  }

  private setState(name: string, item: Item, state: Omit<PublishedState, 'batches' | 'wholeCopies' | 'failures'>): void {
    item.state = { ...state, ...(this.stats.get(name) ?? { batches: 0, wholeCopies: 0, failures: 0 }) }
    this.options.onState?.(name)
  }

  private count(name: string, what: 'batches' | 'wholeCopies' | 'failures'): void {
    const stats = this.stats.get(name)
    if (stats) stats[what]++
  }

  private async run(name: string, item: Item): Promise<void> {
    item.running = true
    if (item.timer) clearTimeout(item.timer)
    item.timer = null
    const generation = item.generation
    try {
      do {
        item.again = false
        await this.drain(name, item)
      } while (item.again && !this.closed && this.items.get(name) === item)
      item.retryMs = this.options.retryMs ?? 1000
    } catch (error) {
      this.count(name, 'failures')
      // The server's detail names what it is about (the view that depends on a table, the row that failed).
      const detail = error instanceof Error ? (error as { detail?: unknown }).detail : undefined
      const message = (error instanceof Error ? error.message : String(error)) + (typeof detail === 'string' && detail ? ` (${detail.slice(0, 200)})` : '')
      if (!(error instanceof Refusal) && transient(error)) {
        // Whatever part was not published is published whole next time.
        item.generation++
        item.whole = true
        item.queue = []
        this.setState(name, item, { ...item.state, state: 'error', error: message })
        item.again = false
        if (!this.closed && this.items.get(name) === item) {
          item.timer = setTimeout(() => {
            item.timer = null
            this.kick(name)
          }, item.retryMs)
          item.timer.unref?.()
          item.retryMs = Math.min(item.retryMs * 2, 30_000)
        }
      } else if (item.generation === generation) {
        // Refused for good; not when the tables were replaced meanwhile (that is tried next).
        item.whole = true
        item.queue = []
        item.refusedAt = Date.now()
        item.again = false
        this.setState(name, item, { ...item.state, state: 'refused', error: message })
      } else {
        // The tables were replaced since the run began: the refusal may not hold for them; try them.
        item.again = true
      }
    } finally {
      item.running = false
    }
    if (item.again && !this.closed) this.kick(name)
  }

  private async drain(name: string, item: Item): Promise<void> {
    while (!this.closed && this.items.get(name) === item && item.refusedAt === null) {
      if (item.whole) {
        if ((await this.publishWhole(name, item)) === 'wait') return
        continue
      }
      const batch = item.queue[0]
      if (!batch) return
      const generation = item.generation
      const outcome = await this.publishBatch(name, item, batch)
      if (item.generation !== generation) continue
      if (outcome === 'elsewhere') {
        item.whole = true
        item.queue = []
        continue
      }
      if (item.queue[0] === batch) item.queue.shift()
    }
  }

  /** Locks the projection's checkpoint on the server for this transaction and reads it. */
  private async serverCheckpoint(client: pg.PoolClient, name: string): Promise<ServerCheckpoint | null> {
    if (!this.checkpointsExist) {
      const found = await client.query<{ t: string | null }>("SELECT to_regclass('projection_checkpoints')::text AS t")
      if (!found.rows[0]?.t) {
        // Two workbenches creating it at once would collide in the catalogue: one at a time.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS + 1, 'projection_checkpoints'])
        await client.query(
          'CREATE TABLE IF NOT EXISTS projection_checkpoints (projection text PRIMARY KEY, position bigint NOT NULL, code text NOT NULL, schema text NOT NULL, tables text[] NOT NULL, updated_at bigint NOT NULL)'
        )
      }
    }
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS + 1, `projection:${this.options.schema ?? ''}.${name}`])
    const found = await client.query<ServerCheckpoint>('SELECT position, code, schema, tables FROM projection_checkpoints WHERE projection = $1', [name])
    return found.rows[0] ?? null
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = await inPgTransaction(this.options.pool, fn)
    this.checkpointsExist = true
    return result
  }

  /** One batch, when the server's checkpoint is within it; 'elsewhere' when it is before it or other code made it. */
  private async publishBatch(name: string, item: Item, batch: Batch): Promise<'published' | 'there' | 'elsewhere'> {
    const d = item.descriptor
    const signature = schemaSignature(d)
    if (this.builtBy(name) !== item.code) return 'elsewhere'
    let serverPosition = 0
    const outcome = await this.transaction(async (client) => {
      const server = await this.serverCheckpoint(client, name)
      // Code loaded again meanwhile: the new code's item publishes.
      if (this.items.get(name) !== item) return 'elsewhere' as const
      if (!server || server.code !== item.code || server.schema !== signature) return 'elsewhere' as const
      serverPosition = server.position
      // Published already (by another workbench with the same code, over the same events).
      if (server.position >= batch.to) return 'there' as const
      // Events before the batch are missing on the server: only a whole copy makes it exact.
      if (server.position < batch.from) return 'elsewhere' as const
      const byTable = new Map<string, Write[]>()
      for (const w of batch.writes) {
        const list = byTable.get(w[0])
        if (list) list.push(w)
        else byTable.set(w[0], [w])
      }
      for (const [table, writes] of byTable) {
        const def = d.tables[table]
        const sqlName = quote(sqlTableName(name, table))
        const deletes = writes.filter((w) => w[2] === null)
        const keyValues = (w: Write) =>
          (JSON.parse(w[1]) as unknown[]).map((v, i) =>
            serverValue(name, table, def.key[i], def.columns[def.key[i]], encodeValue(def.columns[def.key[i]], v), `a delete at position ${w[3]}`)
          )
        for (const chunk of chunks(deletes, Math.floor(MAX_PARAMS / def.key.length))) {
          const params: unknown[] = []
          const tuples = chunk.map((w) => `(${keyValues(w).map((v) => `$${params.push(v)}`).join(', ')})`)
          await client.query(`DELETE FROM ${sqlName} WHERE (${def.key.map(quote).join(', ')}) IN (${tuples.join(', ')})`, params)
        }
        const upserts = writes.filter((w) => w[2] !== null).map((w) => rowValues(name, table, def, encodeRow(def, w[2] as Row), w[3], w[4]))
        await insertRows(client, sqlName, def, upserts, true)
      }
      await client.query('UPDATE projection_checkpoints SET position = $2, updated_at = $3 WHERE projection = $1', [name, batch.to, Date.now()])
      serverPosition = batch.to
      return 'published' as const
    })
    if (outcome === 'elsewhere') return outcome
    if (outcome === 'published') this.count(name, 'batches')
    const publishedAt = outcome === 'published' ? Date.now() : item.state.publishedAt
    this.setState(name, item, { state: item.queue.length > 1 ? 'behind' : 'published', position: serverPosition, error: null, publishedAt })
    return outcome
  }

  /** The whole projection as the working copy holds it, replacing the server's tables; 'wait' while it cannot. */
  private async publishWhole(name: string, item: Item): Promise<'published' | 'wait'> {
    const generation = item.generation
    const takeOver = item.takeOver
    const local = readCheckpoint(this.options.db, name)
    if (!local || !this.options.settled(name)) {
      // A job thread writes the tables: nudged when it ends.
      this.setState(name, item, { ...item.state, state: 'behind' })
      return 'wait'
    }
    if (this.builtBy(name) !== item.code) {
      item.queue = []
      const error = "This copy's rows were built, or added to, by other code than is loaded now; rebuild or reset it here to publish this code"
      this.setState(name, item, { state: 'rebuild-needed', position: item.state.position, error, publishedAt: item.state.publishedAt })
      return 'wait'
    }
    const d = item.descriptor
    const signature = schemaSignature(d)
    const ours = Object.keys(d.tables).map((t) => sqlTableName(name, t))
    for (const table of ours) checkName(name, table)
    let snapshotPosition = 0
    const outcome = await this.transaction(async (client) => {
      const server = await this.serverCheckpoint(client, name)
      // Code loaded again meanwhile: the new code's item publishes.
      if (this.items.get(name) !== item) return { kind: 'superseded' as const }
      const sameCode = !!server && server.code === item.code && server.schema === signature
      // Another workbench's code made the server's copy: not replaced unless this one rebuilt or reset.
      if (server && !sameCode && !takeOver) return { kind: 'other-code' as const, server }
      if (server && server.position > local.position) return { kind: 'wait' as const, server, sameCode }
      // Same code at the same position: the same rows (unless this copy was rebuilt or reset to take the server's over).
      if (server && sameCode && server.position === local.position && !takeOver) return { kind: 'same' as const, server }
      // Read on a connection of its own, in one read transaction (the rows and the checkpoint belong together), a
      // chunk at a time: commits here go on meanwhile, and a large read model is never held in memory whole.
      const reader = new Database(this.options.db.name, { readonly: true, fileMustExist: true })
      try {
        reader.exec('BEGIN')
        // Rows of other code since the check above (a reload): not these.
        const built = reader.prepare<[string], { code: string }>('SELECT code FROM projection_builds WHERE projection = ?').get(name)
        if (built?.code !== item.code) return { kind: 'superseded' as const }
        const position = readCheckpoint(reader, name)?.position ?? 0
        // The copy went back meanwhile (a reset): the server's checkpoint is never moved back.
        if (server && server.position > position) return { kind: 'wait' as const, server, sameCode }
        // Tables whose layout is as this code makes it are emptied, not dropped: grants, views and indexes that others
        // made on them stay. Others (another layout, or changed by hand) are dropped and made anew (a view on one
        // refuses that, named). Tables of this projection that this code does not have go.
        const layoutKnown = server?.schema === signature
        const previous = (server?.tables ?? []).filter((t) => t.startsWith(`rm_${name}_`))
        for (const table of previous.filter((t) => !ours.includes(t))) await client.query(`DROP TABLE IF EXISTS ${quote(table)}`)
        for (const [table, def] of Object.entries(d.tables)) {
          const sqlName = sqlTableName(name, table)
          const keep = layoutKnown && (await serverLayout(client, sqlName)) === wantedLayout(def)
          if (!keep) {
            const columns = Object.entries(def.columns).map(([c, type]) => `${quote(c)} ${PG_TYPES[type]}`)
            await client.query(`DROP TABLE IF EXISTS ${quote(sqlName)}`)
            await client.query(`CREATE TABLE ${quote(sqlName)} (${columns.join(', ')}, _position bigint, _stream text, PRIMARY KEY (${def.key.map(quote).join(', ')}))`)
          }
          for (const [i, cols] of (def.indexes ?? []).entries()) {
            await client.query(`CREATE INDEX IF NOT EXISTS ${quote(indexName(sqlName, i))} ON ${quote(sqlName)} (${cols.map(quote).join(', ')})`)
          }
          if (keep) await client.query(`TRUNCATE ${quote(sqlName)}`)
          let chunk: unknown[][] = []
          for (const r of reader.prepare(`SELECT * FROM ${quote(sqlName)}`).iterate() as IterableIterator<Row>) {
            chunk.push(rowValues(name, table, def, r, r._position as number, r._stream as string))
            if (chunk.length < (this.options.chunkRows ?? 5000)) continue
            await insertRows(client, quote(sqlName), def, chunk, false)
            chunk = []
          }
          await insertRows(client, quote(sqlName), def, chunk, false)
        }
        snapshotPosition = position
      } finally {
        reader.close()
      }
      await client.query(
        `INSERT INTO projection_checkpoints (projection, position, code, schema, tables, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position, code = excluded.code, schema = excluded.schema, tables = excluded.tables, updated_at = excluded.updated_at`,
        [name, snapshotPosition, item.code, signature, ours, Date.now()]
      )
      return { kind: 'published' as const, position: snapshotPosition }
    })
    if (outcome.kind === 'superseded') return 'wait'
    const current = item.generation === generation
    if (outcome.kind === 'other-code' || (outcome.kind === 'wait' && (!outcome.sameCode || takeOver))) {
      if (current) item.queue = []
      const error = outcome.kind === 'other-code' ? 'The server holds this read model as other code built it (another workbench, or this projection before an edit); rebuild or reset it here to publish this code' : null
      this.setState(name, item, { state: outcome.kind === 'wait' ? 'waiting' : 'other-code', position: outcome.server.position, error, publishedAt: item.state.publishedAt })
      return 'wait'
    }
    const position = outcome.kind === 'published' ? outcome.position : outcome.server.position
    if (outcome.kind === 'published') this.count(name, 'wholeCopies')
    if (current) {
      // Same code: from here on batch by batch; what the server already holds is skipped. (A copy rebuilt or reset to
      // take the server's over waits above instead, to replace it whole.)
      item.whole = false
      item.takeOver = false
      item.queue = item.queue.filter((b) => b.to > position)
    }
    if (outcome.kind === 'wait') {
      // Behind the server with the same code: waiting, unless this copy reached the server's position meanwhile.
      const reached = current && item.queue.length === 0 && (readCheckpoint(this.options.db, name)?.position ?? 0) >= position
      if (!reached) {
        this.setState(name, item, { state: 'waiting', position, error: null, publishedAt: item.state.publishedAt })
        return 'wait'
      }
    }
    this.setState(name, item, { state: item.queue.length ? 'behind' : 'published', position, error: null, publishedAt: Date.now() })
    return 'published'
  }
}

/** A table's layout as the server has it (kind, columns with type and NOT NULL, primary key); null: no such table. */
async function serverLayout(client: pg.PoolClient, sqlName: string): Promise<string | null> {
  const { rows } = await client.query<{ relkind: string; columns: unknown; key: unknown }>(
    `SELECT c.relkind,
       (SELECT json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull) ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT json_agg(a.attname ORDER BY k.n)
          FROM pg_index i CROSS JOIN unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = c.oid AND i.indisprimary) AS key
     FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [quote(sqlName)]
  )
  return rows.length ? JSON.stringify([rows[0].relkind, rows[0].columns, rows[0].key]) : null
}

/** The layout a table of this definition has when the publisher makes it (serverLayout's form). */
function wantedLayout(def: TableDef): string {
  const columns = Object.entries(def.columns).map(([c, type]) => [c, PG_TYPES[type], def.key.includes(c)])
  return JSON.stringify(['r', [...columns, ['_position', 'bigint', false], ['_stream', 'text', false]], def.key])
}

/** Consecutive batches as one: from the first's start to the last's end, the last write of each row. */
function mergeBatches(batches: Batch[]): Batch {
  const writes = new Map<string, Write>()
  for (const b of batches) for (const w of b.writes) writes.set(`${w[0]}\0${w[1]}`, w)
  return { from: batches[0].from, to: batches[batches.length - 1].to, writes: [...writes.values()] }
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += Math.max(size, 1)) out.push(list.slice(i, i + Math.max(size, 1)))
  return out
}

/** A row as SQLite stores it (user values encoded). */
function encodeRow(def: TableDef, row: Row): Row {
  const out: Row = {}
  for (const [c, type] of Object.entries(def.columns)) out[c] = encodeValue(type, row[c])
  return out
}

function rowValues(projection: string, table: string, def: TableDef, row: Row, position: number, stream: string): unknown[] {
  const where = `the row written by stream ${stream} at position ${position}`
  return [...Object.entries(def.columns).map(([c, type]) => serverValue(projection, table, c, type, row[c], where)), position, stream]
}

async function insertRows(client: pg.PoolClient, sqlName: string, def: TableDef, rows: unknown[][], upsert: boolean): Promise<void> {
  const columns = [...Object.keys(def.columns), '_position', '_stream']
  const size = Math.floor(MAX_PARAMS / columns.length)
  const conflict = upsert ? ` ON CONFLICT (${def.key.map(quote).join(', ')}) DO UPDATE SET ${columns.filter((c) => !def.key.includes(c)).map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}` : ''
  for (const chunk of chunks(rows, size)) {
    const params: unknown[] = []
    const tuples = chunk.map((values) => `(${values.map((v) => `$${params.push(v)}`).join(', ')})`)
    await client.query(`INSERT INTO ${sqlName} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}${conflict}`, params)
  }
}
