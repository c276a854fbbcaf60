import { randomBytes } from 'node:crypto'
import { categoryOf } from '../../shared/model/events'
import type { ProjectionDescriptor, ProjectionFault } from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'
import type { CodeRunner } from '../cqrs/runner'
import type { EventRow, SqliteEventStore } from '../store/sqlite-store'
import { bytesToUuid } from '../store/uuid'
import type { DoneAnswer, NeedAnswer } from './handler-runtime'
import { checkpointName, createTables, decodeRow, ensureCheckpoints, quote, readCheckpoint, schemaSignature, sqlTableName, TableAccess, writeCheckpoint, type Row } from './tables'

export type Write = [table: string, key: string, row: Row | null, position: number, stream: string]

export interface EngineOptions {
  shadow?: boolean
  /** An attached database holding the tables and their checkpoint (checks use throwaway ones). */
  schema?: string
  batchSize?: number
  /** Deliver every event twice (the idempotency check). */
  deliverTwice?: boolean
  /** Test hook: runs inside the commit transaction, after the writes and before the checkpoint. */
  beforeCommit?: (position: number) => void
  /** Called after a batch committed here (a PostgreSQL workspace publishes it to the server). */
  onCommit?: (batch: { from: number; to: number; writes: Write[] }) => void
}

export interface PreparedBatch {
  from: number
  /** The checkpoint after this batch: the last position read, matched or not. */
  to: number
  events: EventRow[]
  writes: Write[]
  handled: number
}

export type BatchOutcome =
  | { kind: 'idle'; position: number }
  | { kind: 'committed'; position: number; events: number; handled: number }
  | { kind: 'faulted'; position: number; fault: ProjectionFault }

const MAX_ROUNDS = 50

/** An event as the sandbox receives it: the JSON of an EventTuple (see handler-runtime), data and metadata as stored. */
export function eventJson(r: EventRow): string {
  return `[${r.position},${JSON.stringify(r.stream_id)},${r.version},${JSON.stringify(r.type)},${r.schema_version},"${bytesToUuid(r.id)}",${r.data},${r.metadata ?? 'null'},${r.recorded_at}]`
}

/**
 * Runs one projection over the log into its tables, batch by batch. A batch's writes and its checkpoint commit in
 * one transaction (exactly once): the transaction also checks that the checkpoint is still where the batch began,
 * so two runners can never both apply the same events. Used on the app's main thread (with the Sandbox worker)
 * and inside jobs (with an in-thread SandboxContext).
 */
export class ProjectionEngine {
  readonly name: string
  private readonly tables = new Map<string, TableAccess>()
  private readonly schema: string
  private epoch: string
  private readonly cacheId: string
  private readonly batchSize: number

  constructor(
    private readonly store: SqliteEventStore,
    private readonly runner: CodeRunner,
    readonly descriptor: ProjectionDescriptor,
    private readonly options: EngineOptions = {}
  ) {
    this.schema = options.schema ?? 'main'
    this.name = checkpointName(descriptor.name, options.shadow)
    this.batchSize = options.batchSize ?? 1000
    this.cacheId = `${descriptor.name}:${options.shadow ? 'shadow' : 'live'}:${this.schema}`
    this.epoch = randomBytes(6).toString('hex')
    const db = store.db
    ensureCheckpoints(db, this.schema)
    createTables(db, descriptor, { shadow: options.shadow, schema: this.schema })
    for (const [name, def] of Object.entries(descriptor.tables)) this.tables.set(name, new TableAccess(db, def, sqlTableName(descriptor.name, name, options.shadow), this.schema))
    if (!readCheckpoint(db, this.name, this.schema)) writeCheckpoint(db, { projection: this.name, position: 0, status: 'running', error: null, schema: schemaSignature(descriptor) }, this.schema)
  }

  /** Forgets the rows the sandbox holds for this projection (after anything else changed the tables). */
  invalidate(): void {
    this.epoch = randomBytes(6).toString('hex')
  }

  position(): number {
    return readCheckpoint(this.store.db, this.name, this.schema)?.position ?? 0
  }

  /** The next events after `from` that this projection reads, and the checkpoint to move to after them. */
  readEvents(from: number, limit = this.batchSize): { events: EventRow[]; to: number } {
    const source = this.descriptor.from
    const types = this.storedTypes()
    if (types.length === 0) {
      const head = this.store.head()
      return { events: [], to: Math.max(from, head) }
    }
    const page = this.store.readAllRawSync({ from: from + 1, limit, filter: { types } })
    const categories = typeof source === 'object' && 'categories' in source ? new Set(source.categories) : null
    const events = categories ? page.rows.filter((r) => categories.has(categoryOf(r.stream_id))) : page.rows
    const to = page.next !== null ? page.next - 1 : Math.max(from, page.headPosition)
    return { events, to }
  }

  /** The stored event types this projection selects (upcasters may turn older names into handled ones). */
  private storedTypes(): string[] {
    if (this.descriptor.reads.length) return this.descriptor.reads
    const source = this.descriptor.from
    return typeof source === 'object' && 'eventTypes' in source ? source.eventTypes.filter((t) => this.descriptor.handles.includes(t)) : this.descriptor.handles
  }

  /** Of some events, the ones this projection reads (as readEvents selects them from the log). */
  selectEvents(rows: EventRow[]): EventRow[] {
    const source = this.descriptor.from
    const types = new Set(this.storedTypes())
    const categories = typeof source === 'object' && 'categories' in source ? new Set(source.categories) : null
    return rows.filter((r) => types.has(r.type) && (!categories || categories.has(categoryOf(r.stream_id))))
  }

  /** Runs a batch through the handlers, answering the sandbox's row requests until it completes; commits nothing. */
  async prepare(events: EventRow[], from: number, to: number): Promise<PreparedBatch> {
    if (events.length === 0) return { from, to, events, writes: [], handled: 0 }
    const twice = this.options.deliverTwice === true
    const head = `{"op":"projection.run","file":${JSON.stringify(this.descriptor.file)},"exportName":${JSON.stringify(this.descriptor.exportName)},"id":${JSON.stringify(this.cacheId)},"epoch":${JSON.stringify(this.epoch)}`
    // Appended piece by piece, the request is copied into one flat string once, when the sandbox parses it.
    let body = '"events":['
    for (let i = 0; i < events.length; i++) {
      const json = eventJson(events[i])
      body += i === 0 ? json : `,${json}`
      if (twice) body += `,${json}`
    }
    body += ']}'
    let extra = ''
    const queries = new Map<string, Row[]>()
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const request = `${head},${extra}${body}`
      const answer = await this.call<DoneAnswer | NeedAnswer>(request)
      if (answer.outcome === 'done') {
        // Back from the compact form (see DoneAnswer): a row per key, its key, and the event that wrote it last.
        const writes: Write[] = new Array<Write>(answer.writes.length)
        for (let i = 0; i < answer.writes.length; i++) {
          const w = answer.writes[i] as [number, number, ...unknown[]]
          const t = w[0]
          const event = events[twice ? w[1] >> 1 : w[1]]
          if (t < 0) {
            writes[i] = [answer.tables[-1 - t][0], w[2] as string, null, event.position, event.stream_id]
            continue
          }
          const [table, columns, key] = answer.tables[t]
          const row: Row = {}
          for (let c = 0; c < columns.length; c++) row[columns[c]] = w[c + 2]
          writes[i] = [table, JSON.stringify(key.length === 1 ? [w[key[0] + 2]] : key.map((k) => w[k + 2])), row, event.position, event.stream_id]
        }
        return { from, to, events, writes, handled: answer.handled }
      }
      // Rows stay in the sandbox's cache for the next round; query results are sent with every round (a query may
      // only be asked for once the results of another are known).
      const rows = answer.rows.map(([table, key]) => [table, key, this.access(table).get(JSON.parse(key) as unknown[])])
      for (const q of answer.queries) queries.set(q.signature, this.selectWhere(q.table, q.where, q.limit))
      extra = `"rows":${JSON.stringify(rows)},"queries":${JSON.stringify([...queries])},`
    }
    throw new RpcError('Internal', `Projection ${this.descriptor.name}: the handlers kept asking for new rows after ${MAX_ROUNDS} rounds`)
  }

  private async call<T>(request: string): Promise<T> {
    const where = `projection ${this.descriptor.name}`
    const { result } = this.runner.callText ? await this.runner.callText<T>(request, where) : await this.runner.call<T>(JSON.parse(request) as Record<string, unknown>, where)
    return result
  }

  private access(table: string): TableAccess {
    const t = this.tables.get(table)
    if (!t) throw new RpcError('NotFound', `Projection ${this.descriptor.name} has no table ${table}`)
    return t
  }

  private selectWhere(table: string, where: Record<string, unknown>, limit: number): Row[] {
    const t = this.access(table)
    const cols = Object.keys(where)
    const clause = cols.length ? `WHERE ${cols.map((c) => (where[c] === null ? `${quote(c)} IS NULL` : `${quote(c)} = ?`)).join(' AND ')}` : ''
    const params = cols.filter((c) => where[c] !== null).map((c) => (t.def.columns[c] === 'json' ? JSON.stringify(where[c]) : typeof where[c] === 'boolean' ? (where[c] ? 1 : 0) : where[c]))
    const rows = this.store.db.prepare(`SELECT * FROM ${quote(this.schema)}.${quote(t.sqlName)} ${clause} ORDER BY ${t.def.key.map(quote).join(', ')} LIMIT ?`).all(...params, limit) as Row[]
    return rows.map((r) => decodeRow(t.def, r))
  }

  /**
   * Applies a prepared batch and moves the checkpoint; refuses when the checkpoint moved. Runs inside the caller's
   * transaction (an inline projection commits with the append).
   */
  applyBatch(batch: PreparedBatch, status = 'running'): void {
    const db = this.store.db
    const current = readCheckpoint(db, this.name, this.schema)
    if ((current?.position ?? 0) !== batch.from) {
      throw new RpcError('Conflict', `Projection ${this.name} moved from ${batch.from} to ${current?.position} while a batch ran; the batch was dropped`)
    }
    for (const [table, key, row, position, stream] of batch.writes) {
      const t = this.access(table)
      if (row) t.upsert(row, position, stream)
      else t.delete(JSON.parse(key) as unknown[])
    }
    this.options.beforeCommit?.(batch.to)
    writeCheckpoint(db, { projection: this.name, position: batch.to, status, error: null, schema: current?.schema ?? schemaSignature(this.descriptor) }, this.schema)
  }

  /** Applies a prepared batch and moves the checkpoint, in one transaction of its own. */
  async commit(batch: PreparedBatch, status = 'running'): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.store.writeTransaction(() => this.applyBatch(batch, status))
        this.options.onCommit?.(batch)
        return
      } catch (error) {
        // The sandbox already counts the batch's writes as committed: forget them.
        if ((error as { code?: string }).code === 'SQLITE_BUSY' && attempt < 1000) {
          await new Promise((resolve) => setTimeout(resolve, 10))
          continue
        }
        this.invalidate()
        throw error
      }
    }
  }

  /** Reads, runs and commits one batch; a handler that throws faults the projection at its event. */
  async step(): Promise<BatchOutcome> {
    const from = this.position()
    const { events, to } = this.readEvents(from)
    if (to === from) return { kind: 'idle', position: from }
    let batch: PreparedBatch
    try {
      batch = await this.prepare(events, from, to)
    } catch (error) {
      return this.fault(error, events, from)
    }
    await this.commit(batch)
    return { kind: 'committed', position: to, events: events.length, handled: batch.handled }
  }

  /** Names the event a failed batch stopped at, commits the events before it, and records the fault. */
  private async fault(error: unknown, events: EventRow[], from: number): Promise<BatchOutcome> {
    this.invalidate()
    const e = error instanceof RpcError ? error : new RpcError('Internal', error instanceof Error ? error.message : String(error))
    if (e.code !== 'UserCodeFailed' && e.code !== 'Timeout') throw e
    // The sandbox reloaded the code or was restarted under this batch: nothing is wrong with the events; the
    // runner starts the batch over.
    const reason = (e.details as { reason?: string } | undefined)?.reason
    if (reason === 'reload' || reason === 'restart' || e.message.includes('sandbox is not running')) throw e
    let index = -1
    try {
      index = await this.call<number>('{"op":"projection.failedAt"}')
    } catch {
      // The sandbox was restarted (a timeout): blame the batch's first event.
    }
    if (this.options.deliverTwice && index >= 0) index = Math.floor(index / 2)
    const poison = events[Math.max(index, 0)]
    let position = from
    if (index > 0) {
      const before = events.slice(0, index)
      const prefix = await this.prepare(before, from, poison.position - 1)
      await this.commit(prefix)
      position = poison.position - 1
    }
    const details = (e.details ?? {}) as { file?: string | null; line?: number | null; column?: number | null }
    const fault: ProjectionFault = {
      position: poison.position,
      streamId: poison.stream_id,
      type: poison.type,
      message: e.message,
      file: details.file ?? null,
      line: details.line ?? null,
      column: details.column ?? null,
      at: Date.now()
    }
    this.setStatus('faulted', fault)
    return { kind: 'faulted', position, fault }
  }

  setStatus(status: string, fault: ProjectionFault | null = null): void {
    const current = readCheckpoint(this.store.db, this.name, this.schema)
    writeCheckpoint(this.store.db, { projection: this.name, position: current?.position ?? 0, status, error: fault ? JSON.stringify(fault) : null, schema: current?.schema ?? schemaSignature(this.descriptor) }, this.schema)
  }

  /** Moves the checkpoint past one event without applying it (skip a poison event). */
  skipTo(position: number): void {
    const from = this.store.writeTransaction(() => {
      const current = readCheckpoint(this.store.db, this.name, this.schema)
      writeCheckpoint(this.store.db, { projection: this.name, position, status: 'running', error: null, schema: current?.schema ?? schemaSignature(this.descriptor) }, this.schema)
      return current?.position ?? 0
    })
    this.options.onCommit?.({ from, to: position, writes: [] })
  }

  /** Runs until the log's head (as it was when the call started), or until cancelled or faulted. */
  async runToHead(options: { isCancelled?: () => boolean; onProgress?: (position: number, head: number) => void } = {}): Promise<BatchOutcome> {
    const head = this.store.head()
    let last: BatchOutcome = { kind: 'idle', position: this.position() }
    for (;;) {
      if (options.isCancelled?.()) throw new RpcError('Cancelled', `Projection ${this.descriptor.name}: stopped at position ${this.position()}`)
      const outcome = await this.step()
      if (outcome.kind === 'faulted') return outcome
      if (outcome.kind === 'idle') return last
      last = outcome
      options.onProgress?.(outcome.position, head)
      if (outcome.position >= head) return outcome
    }
  }
}
