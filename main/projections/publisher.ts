import { createHash } from 'node:crypto'
import type Database from 'better-sqlite3'
import type pg from 'pg'
import type { ProjectionDescriptor, PublishedState, TableDef } from '../../shared/contract/projections'
import { inPgTransaction } from '../store/postgres-store'
import { LOCK_CLASS } from '../store/postgres-schema'
import type { Write } from './engine'
import { encodeValue, quote, readCheckpoint, schemaSignature, sqlTableName, type Row } from './tables'

/**
 * Publishes a PostgreSQL workspace's read models to the server, next to the events they were built from.
 *
 * The workbench computes read models in its working copy (events.db), where a batch's writes and its checkpoint
 * commit in one SQLite transaction. Each committed batch is then published in one PostgreSQL transaction that
 * checks the server's checkpoint for the projection and moves it to where the batch ended. A batch's writes are
 * rows as they stand at its end (a row per key, or its delete), so they make the server's tables exact at that
 * position whenever the server's checkpoint is anywhere from where the batch began up to before its end (another
 * workbench with the same code published part of it with other boundaries); a batch the server already holds
 * whole is skipped. The server's tables hold every event's effect exactly once, whoever publishes. When the
 * server's checkpoint is before the batch (events missing) or was made by other code, or this workbench rebuilt,
 * reset, promoted or caught up in a job, the projection is published whole instead: its tables are replaced, rows
 * and checkpoint, in one transaction. A whole copy never moves the server's checkpoint back: while the server holds a later position
 * than this workbench's copy, it waits until the copy has caught up. The server's checkpoint records a hash of the
 * code that built the rows: a workbench with other code (an edit, a teammate's version) does not publish over it
 * until it rebuilds or resets the projection, which takes the server's copy over.
 */

/** How the server's copy of a projection stands, as a status line shows it. */
export type { PublishedState }

export interface PublisherOptions {
  pool: pg.Pool
  /** The working copy whose read-model tables are published. */
  db: Database.Database
  /** Whether the projection's local tables are settled (no job thread writing them) so they can be read whole. */
  settled: (name: string) => boolean
  onState?: (name: string) => void
  /** First wait before publishing again after the server could not be reached (doubles up to 30 s). */
  retryMs?: number
  /** Rows per INSERT statement when publishing whole (tests make it small). */
  chunkRows?: number
}

interface ServerCheckpoint {
  position: number
  code: string
  schema: string
  tables: string[]
}

interface Item {
  descriptor: ProjectionDescriptor
  code: string
  /** Committed here, not yet published, in commit order. */
  queue: Array<{ from: number; to: number; writes: Write[] }>
  /** Publish the whole projection instead of the queue. */
  whole: boolean
  running: boolean
  again: boolean
  /** The last attempt met values the server's columns refuse: wait for new code or a rebuild. */
  refused: boolean
  /** Rebuilt or reset here: replace the server's copy even if other code made it. */
  takeOver: boolean
  state: PublishedState
  retryMs: number
  timer: NodeJS.Timeout | null
}

const PG_TYPES: Record<string, string> = { text: 'text', integer: 'bigint', real: 'double precision', json: 'jsonb' }
const MAX_PARAMS = 30_000

/** A hash of a projection's source and tables: two workbenches with the same one build the same rows. */
export function codeHash(descriptor: ProjectionDescriptor, source: string): string {
  return createHash('sha256').update(source).update('\0').update(descriptor.exportName).update('\0').update(schemaSignature(descriptor)).digest('hex').slice(0, 32)
}

/** A value as the working copy stores it, checked and turned into what the server's column takes. */
function serverValue(projection: string, table: string, column: string, type: string, value: unknown, where: string): unknown {
  if (value === null || value === undefined) return null
  const bad = (what: string) =>
    new PublishError(`Projection ${projection}, table ${table}, column ${column}: ${JSON.stringify(value).slice(0, 80)} is not ${what} (${where}); the server's column is ${PG_TYPES[type]}`)
  if (type === 'integer') {
    if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63) return value
    if (typeof value === 'bigint') return value.toString()
    throw bad('an integer')
  }
  if (type === 'real') {
    if (typeof value === 'number') return Number.isNaN(value) ? null : value
    throw bad('a number')
  }
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : null
  if (text === null) throw bad(type === 'json' ? 'JSON text' : 'text')
  // SQLite keeps NUL characters; PostgreSQL text and jsonb cannot hold them.
  if (text.includes('\0') || (type === 'json' && text.includes('\\u0000'))) throw bad('storable: it holds a NUL character')
  return text
}

/** Bad values in a read model: publishing them would fail again until the projection's code changes. */
class PublishError extends Error {}

export class ReadModelPublisher {
  private readonly items = new Map<string, Item>()
  private closed = false
  private checkpointsExist = false
  private readonly running = new Set<Promise<void>>()

  constructor(private readonly options: PublisherOptions) {}

  /** The projections of the workspace and a hash of each one's code; a new one or new code is published whole. */
  setProjections(list: Array<{ descriptor: ProjectionDescriptor; code: string }>): void {
    const names = new Set(list.map((p) => p.descriptor.name))
    for (const [name, item] of this.items) {
      if (names.has(name)) continue
      if (item.timer) clearTimeout(item.timer)
      this.items.delete(name)
    }
    for (const { descriptor, code } of list) {
      const old = this.items.get(descriptor.name)
      if (old && old.code === code) {
        old.descriptor = descriptor
        continue
      }
      if (old?.timer) clearTimeout(old.timer)
      this.items.set(descriptor.name, {
        descriptor,
        code,
        queue: [],
        whole: true,
        running: false,
        again: false,
        refused: false,
        takeOver: false,
        state: old?.state ?? { state: 'behind', position: null, error: null, publishedAt: null },
        retryMs: this.options.retryMs ?? 1000,
        timer: null
      })
      this.kick(descriptor.name)
    }
  }

  /** A batch committed in the working copy (its writes as the engine committed them). */
  committed(name: string, batch: { from: number; to: number; writes: Write[] }): void {
    const item = this.items.get(name)
    if (!item || item.refused) return
    // Waiting to be published whole, the next attempt reads the tables as they will be; during an attempt, a
    // commit after its snapshot is published after it.
    if (!item.whole || item.running) item.queue.push({ from: batch.from, to: batch.to, writes: batch.writes })
    this.kick(name)
  }

  /**
   * The projection's tables changed here as a whole: a job's catch-up, or (takeOver) a reset, rebuild or promoted
   * shadow, which replaces the server's copy even when other code made it.
   */
  replaced(name: string, takeOver = false): void {
    const item = this.items.get(name)
    if (!item) return
    item.whole = true
    item.takeOver ||= takeOver
    item.refused = false
    item.queue = []
    this.kick(name)
  }

  state(name: string): PublishedState | null {
    return this.items.get(name)?.state ?? null
  }

  /** Resolves when nothing is being published (tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running])
  }

  async close(): Promise<void> {
    this.closed = true
    for (const item of this.items.values()) if (item.timer) clearTimeout(item.timer)
    await this.idle()
  }

  private kick(name: string): void {
    const item = this.items.get(name)
    if (!item || this.closed) return
    if (item.running) {
      item.again = true
      return
    }
    const run = this.run(name, item).finally(() => this.running.delete(run))
    this.running.add(run)
  }

  private setState(name: string, item: Item, state: PublishedState): void {
    item.state = state
    this.options.onState?.(name)
  }

  private async run(name: string, item: Item): Promise<void> {
    item.running = true
    if (item.timer) clearTimeout(item.timer)
    item.timer = null
    try {
      do {
        item.again = false
        await this.drain(name, item)
      } while (item.again && !this.closed && this.items.get(name) === item)
      item.retryMs = this.options.retryMs ?? 1000
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      // Whatever part was not published is published whole next time.
      item.whole = true
      item.queue = []
      this.setState(name, item, { ...item.state, state: 'error', error: message })
      // Bad values wait for new code or a rebuild; anything else (the server away) is tried again.
      if (error instanceof PublishError) item.refused = true
      else if (!this.closed) {
        item.timer = setTimeout(() => this.kick(name), item.retryMs)
        item.timer.unref?.()
        item.retryMs = Math.min(item.retryMs * 2, 30_000)
      }
    } finally {
      item.running = false
    }
  }

  private async drain(name: string, item: Item): Promise<void> {
    while (!this.closed && this.items.get(name) === item) {
      if (item.whole) {
        const outcome = await this.publishWhole(name, item)
        if (outcome === 'wait') return
        continue
      }
      const batch = item.queue[0]
      if (!batch) return
      const outcome = await this.publishBatch(name, item, batch)
      if (outcome === 'elsewhere') {
        item.whole = true
        item.queue = []
        continue
      }
      item.queue.shift()
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
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS + 1, `projection:${name}`])
    const found = await client.query<ServerCheckpoint>('SELECT position, code, schema, tables FROM projection_checkpoints WHERE projection = $1', [name])
    return found.rows[0] ?? null
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = await inPgTransaction(this.options.pool, fn)
    this.checkpointsExist = true
    return result
  }

  /** One batch, when the server's checkpoint is within it; 'elsewhere' when it is before it or other code made it. */
  private async publishBatch(name: string, item: Item, batch: Item['queue'][number]): Promise<'published' | 'there' | 'elsewhere'> {
    const d = item.descriptor
    const signature = schemaSignature(d)
    const outcome = await this.transaction(async (client) => {
      const server = await this.serverCheckpoint(client, name)
      if (!server || server.code !== item.code || server.schema !== signature) return 'elsewhere' as const
      // Published already (by another workbench with the same code, over the same events).
      if (server.position >= batch.to) return 'there' as const
      // Events before the batch are missing on the server: only a whole copy makes it exact.
      if (server.position < batch.from) return 'elsewhere' as const
      const byTable = new Map<string, Write[]>()
      for (const w of batch.writes) byTable.set(w[0], [...(byTable.get(w[0]) ?? []), w])
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
      return 'published' as const
    })
    if (outcome !== 'elsewhere') this.setState(name, item, { state: item.queue.length > 1 ? 'behind' : 'published', position: batch.to, error: null, publishedAt: Date.now() })
    return outcome
  }

  /** The whole projection as the working copy holds it, replacing the server's tables; 'wait' while the server is ahead. */
  private async publishWhole(name: string, item: Item): Promise<'published' | 'wait'> {
    const local = readCheckpoint(this.options.db, name)
    if (!local || !this.options.settled(name)) {
      this.setState(name, item, { ...item.state, state: 'behind' })
      return 'wait'
    }
    const d = item.descriptor
    const signature = schemaSignature(d)
    const outcome = await this.transaction(async (client) => {
      const server = await this.serverCheckpoint(client, name)
      // Another workbench's code made the server's copy: not replaced unless this one rebuilt or reset.
      if (server && server.code !== item.code && !item.takeOver) return { kind: 'other-code' as const, server }
      if (server && server.position > local.position) return { kind: 'wait' as const, server }
      if (server && server.position === local.position && server.code === item.code && server.schema === signature) return { kind: 'same' as const, server }
      // Read in one go (no commit on this thread can come between), so the rows and the checkpoint belong together.
      const snapshot = this.options.db.transaction(() => {
        const checkpoint = readCheckpoint(this.options.db, name)
        const tables = Object.entries(d.tables).map(([table, def]) => {
          const rows = this.options.db.prepare(`SELECT * FROM ${quote(sqlTableName(name, table))}`).all() as Row[]
          return { table, def, rows }
        })
        return { position: checkpoint?.position ?? 0, tables }
      })()
      // Commits taken into the snapshot need not be published one by one.
      item.queue = item.queue.filter((b) => b.from >= snapshot.position)
      const ours = Object.keys(d.tables).map((t) => sqlTableName(name, t))
      for (const table of new Set([...(server?.tables ?? []), ...ours])) await client.query(`DROP TABLE IF EXISTS ${quote(table)}`)
      for (const { table, def, rows } of snapshot.tables) {
        const sqlName = sqlTableName(name, table)
        const columns = Object.entries(def.columns).map(([c, type]) => `${quote(c)} ${PG_TYPES[type]}`)
        await client.query(`CREATE TABLE ${quote(sqlName)} (${columns.join(', ')}, _position bigint, _stream text, PRIMARY KEY (${def.key.map(quote).join(', ')}))`)
        for (const [i, cols] of (def.indexes ?? []).entries()) await client.query(`CREATE INDEX ${quote(`${sqlName}__ix${i}`)} ON ${quote(sqlName)} (${cols.map(quote).join(', ')})`)
        const values = rows.map((r) => rowValues(name, table, def, r, r._position as number, r._stream as string))
        await insertRows(client, quote(sqlName), def, values, false, this.options.chunkRows)
      }
      await client.query(
        `INSERT INTO projection_checkpoints (projection, position, code, schema, tables, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position, code = excluded.code, schema = excluded.schema, tables = excluded.tables, updated_at = excluded.updated_at`,
        [name, snapshot.position, item.code, signature, ours, Date.now()]
      )
      return { kind: 'published' as const, position: snapshot.position }
    })
    if (outcome.kind === 'wait' || outcome.kind === 'other-code') {
      item.queue = []
      const error = outcome.kind === 'other-code' ? 'The server holds this read model as other code built it (another workbench, or this projection before an edit); rebuild or reset it here to publish this code' : null
      this.setState(name, item, { state: outcome.kind === 'wait' ? 'waiting' : 'other-code', position: outcome.server.position, error, publishedAt: item.state.publishedAt })
      return 'wait'
    }
    item.whole = false
    item.takeOver = false
    if (outcome.kind === 'same') item.queue = item.queue.filter((b) => b.from >= outcome.server.position)
    const position = outcome.kind === 'same' ? outcome.server.position : outcome.position
    this.setState(name, item, { state: item.queue.length ? 'behind' : 'published', position, error: null, publishedAt: Date.now() })
    return 'published'
  }
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

async function insertRows(client: pg.PoolClient, sqlName: string, def: TableDef, rows: unknown[][], upsert: boolean, chunkRows?: number): Promise<void> {
  const columns = [...Object.keys(def.columns), '_position', '_stream']
  const size = Math.min(chunkRows ?? Infinity, Math.floor(MAX_PARAMS / columns.length))
  const conflict = upsert ? ` ON CONFLICT (${def.key.map(quote).join(', ')}) DO UPDATE SET ${columns.filter((c) => !def.key.includes(c)).map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}` : ''
  for (const chunk of chunks(rows, size)) {
    const params: unknown[] = []
    const tuples = chunk.map((values) => `(${values.map((v) => `$${params.push(v)}`).join(', ')})`)
    await client.query(`INSERT INTO ${sqlName} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}${conflict}`, params)
  }
}
