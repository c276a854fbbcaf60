import { EventEmitter } from 'node:events'
import {
  pageRequest,
  type CheckResult,
  type ProjectionDescriptor,
  type ProjectionFault,
  type ProjectionState,
  type ProjectionStatus,
  type RowDiff,
  type RowsPage
} from '../../shared/contract/projections'
import { RpcError } from '../../shared/rpc/errors'
import type { CodeRunner } from '../cqrs/runner'
import type pg from 'pg'
import type { ProjectionJobResult, ProjectionTask } from '../jobs/projection-job'
import { runInWorker, type RunningJob } from '../jobs/runner'
import type { JobTask } from '../jobs/tasks'
import type { AppendResult, ExpectedVersion, NewEvent } from '../../shared/model/events'
import type { EventRow, SqliteEventStore } from '../store/sqlite-store'
import { bytesToUuid, uuidv7Bytes } from '../store/uuid'
import { checkNewEvent } from '../store/validation'
import { parseDescriptors } from './descriptors'
import { ProjectionEngine, type PreparedBatch } from './engine'
import { codeHash, MIXED, ReadModelPublisher } from './publisher'
import { readPage, type PageInput } from './read-models'
import { diffShadow, discardShadow, promoteShadow } from './shadow'
import { checkpointName, dropTables, quote, readCheckpoint, sqlTableName, writeCheckpoint } from './tables'

export interface ProjectionManagerOptions {
  store: SqliteEventStore
  /** The workspace's sandbox (a worker): handlers of the live catch-up run there. */
  runner: CodeRunner
  /** The sandbox prelude and a definition file's source, for jobs that load the code in their own context. */
  prelude: () => string
  source: (file: string) => string
  /** Starts a job thread (tests may run it differently). */
  startJob?: (task: JobTask, onProgress: (done: number, total: number | null) => void) => RunningJob
  batchSize?: number
  /** A lag of more events than this is caught up in a job thread rather than batch by batch here. */
  catchUpInJobAbove?: number
  /** A PostgreSQL workspace: the server the read models are published to (see publisher.ts). */
  server?: { pool: pg.Pool; schema?: string; ownsPool?: boolean; retryMs?: number }
  /** The workspace's upcaster files ([path, source]): they shape the events handlers see (jobs load them too). */
  upcasters?: () => Array<[string, string]>
}

interface Entry {
  descriptor: ProjectionDescriptor
  engine: ProjectionEngine
  paused: boolean
  fault: ProjectionFault | null
  job: { kind: string; done: number; total: number | null; running: RunningJob; paused: boolean } | null
  pumping: boolean
  again: boolean
  /** Events per second, smoothed over batches. */
  throughput: number
  /** An inline append is preparing or committing this projection's batch: the runner keeps away. */
  inlineBusy: boolean
  /** A catch-up job failed: this entry catches up batch by batch here. */
  catchUpHere: boolean
}

/** An append made through the inline projections. */
type AppendInput = { streamId: string; events: NewEvent[]; expectedVersion: ExpectedVersion }

/** The log moved between predicting an append's positions and storing it: predict again. */
class Moved extends Error {}

const MAX_INLINE_ATTEMPTS = 20

/**
 * The projections of one workspace in the app's main process: follows the log (async lifecycle) batch by batch,
 * with handlers in the sandbox worker and one short transaction per batch here; everything that reads the whole
 * log (rebuild, shadow run, checks) runs as a job with its own connection and sandbox context.
 *
 * Inline projections are also updated by `append`: the events' positions are predicted (the head and the stream
 * version as they are), the handlers run on them, and the append's own transaction stores the events and commits
 * the read-model writes with the checkpoint. If the log moved in between (another process appended), nothing is
 * stored and the append starts over from catching up. Appends from other processes reach inline projections
 * through the runner, like async ones.
 */
export class ProjectionManager {
  private readonly entries = new Map<string, Entry>()
  private readonly emitter = new EventEmitter()
  private stopFollowing: (() => void) | null = null
  private closed = false
  private readonly publisher: ReadModelPublisher | null
  /** The code hash of each projection's last job. */
  private readonly jobCodes = new Map<string, string>()
  /** Projections whose shadow tables are being swapped in: no runner or inline append touches them meanwhile. */
  private readonly promoting = new Set<string>()

  constructor(private readonly options: ProjectionManagerOptions) {
    this.emitter.setMaxListeners(0)
    this.publisher = options.server
      ? new ReadModelPublisher({
          pool: options.server.pool,
          ownsPool: options.server.ownsPool,
          schema: options.server.schema,
          db: options.store.db,
          retryMs: options.server.retryMs,
          settled: (name) => !this.entries.get(name)?.job,
          onState: (name) => this.scheduleStatus(name)
        })
      : null
  }

  /** The hash of a projection's code as published (its file's source as given, and the upcasters loaded now). */
  private codeOf(descriptor: ProjectionDescriptor, source: string, upcasters = this.options.upcasters?.() ?? []): string {
    return codeHash(descriptor, source, upcasters.map(([, s]) => s))
  }

  private engineFor(descriptor: ProjectionDescriptor): ProjectionEngine {
    const name = descriptor.name
    return new ProjectionEngine(this.options.store, this.options.runner, descriptor, {
      batchSize: this.options.batchSize,
      onCommit: (batch) => this.publisher?.committed(name, batch)
    })
  }

  /** A hold while new code is loaded: `until` resolves when it is let go (appends waiting on it go on at once). */
  private holding: { until: Promise<void>; letGo: () => void } | null = null
  private inlineRunning = 0

  /**
   * Keeps every runner and inline append between two batches while the workspace loads new code into the sandbox
   * (a batch never runs the new handlers as the old projection); setProjections, or release, lets them go on.
   */
  async hold(): Promise<void> {
    if (!this.holding) {
      let letGo = () => {}
      const until = new Promise<void>((resolve) => (letGo = resolve))
      this.holding = { until, letGo }
    }
    while (!this.closed && (this.inlineRunning > 0 || [...this.entries.values()].some((e) => e.pumping))) await new Promise((resolve) => setTimeout(resolve, 2))
  }

  /** Lets held runners go on (when loading the code stopped before setProjections). */
  release(): void {
    this.endHold()
    if (!this.closed) this.pumpAll()
  }

  private endHold(): void {
    this.holding?.letGo()
    this.holding = null
  }

  /** Resolves when nothing is being published to the server (tests). */
  published(): Promise<void> {
    return this.publisher?.idle() ?? Promise.resolve()
  }

  /** Reads the projections of loaded definition files from the sandbox ('projection.describe'). */
  async describeFiles(files: string[]): Promise<ProjectionDescriptor[]> {
    const out: ProjectionDescriptor[] = []
    for (const file of files) {
      const { result } = await this.options.runner.call<unknown[]>({ op: 'projection.describe', file }, `describing ${file}`)
      out.push(...parseDescriptors(result, file))
    }
    return out
  }

  /** Replaces the set of projections (after the workspace's code was loaded) and starts following the log. */
  setProjections(descriptors: ProjectionDescriptor[]): void {
    const next = new Map<string, Entry>()
    for (const descriptor of descriptors) {
      const old = this.entries.get(descriptor.name)
      const engine = this.engineFor(descriptor)
      const checkpoint = readCheckpoint(this.options.store.db, descriptor.name)
      const fault = checkpoint?.status === 'faulted' && checkpoint.error ? (JSON.parse(checkpoint.error) as ProjectionFault) : null
      next.set(descriptor.name, {
        descriptor,
        engine,
        paused: old?.paused ?? checkpoint?.status === 'paused',
        fault,
        job: old?.job ?? null,
        pumping: false,
        again: false,
        throughput: old?.throughput ?? 0,
        inlineBusy: false,
        catchUpHere: false
      })
    }
    this.entries.clear()
    for (const [name, entry] of next) this.entries.set(name, entry)
    if (this.publisher) {
      this.publisher.setProjections(descriptors.map((descriptor) => ({ descriptor, code: this.codeOf(descriptor, this.options.source(descriptor.file)) })))
    }
    this.endHold()
    if (!this.stopFollowing) this.stopFollowing = this.options.store.onAppended(() => this.pumpAll())
    this.pumpAll()
  }

  on(event: 'status', listener: (status: ProjectionStatus) => void): () => void
  on(event: 'progress', listener: (p: { projection: string; kind: string; done: number; total: number | null }) => void): () => void
  on(event: string, listener: (payload: never) => void): () => void {
    const l = listener as (payload: unknown) => void
    this.emitter.on(event, l)
    return () => this.emitter.off(event, l)
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name)
    if (!e) throw new RpcError('NotFound', `No projection ${name} in this workspace (projections: ${[...this.entries.keys()].join(', ') || 'none'})`, { projection: name })
    return e
  }

  descriptor(name: string): ProjectionDescriptor {
    return this.entry(name).descriptor
  }

  list(): ProjectionStatus[] {
    return [...this.entries.keys()].map((name) => this.status(name))
  }

  status(name: string): ProjectionStatus {
    const e = this.entry(name)
    const db = this.options.store.db
    const position = e.engine.position()
    const head = this.options.store.head()
    const next = db.prepare<[number], { recorded_at: number }>('SELECT recorded_at FROM events WHERE position > ? ORDER BY position LIMIT 1').get(position)
    const state: ProjectionState = e.job?.kind === 'rebuild' ? 'rebuilding' : e.fault ? 'faulted' : e.paused ? 'paused' : position >= head ? 'caught-up' : 'running'
    const shadow = readCheckpoint(db, checkpointName(name, true))
    const shadowFault = shadow?.status === 'faulted' && shadow.error ? (JSON.parse(shadow.error) as ProjectionFault) : null
    return {
      name,
      file: e.descriptor.file,
      lifecycle: e.descriptor.lifecycle,
      state,
      position,
      headPosition: head,
      lagEvents: Math.max(head - position, 0),
      lagMs: next && position < head ? Math.max(Date.now() - next.recorded_at, 0) : 0,
      throughput: Math.round(e.throughput),
      fault: e.fault,
      job: e.job ? { kind: e.job.kind, done: e.job.done, total: e.job.total, paused: e.job.paused } : null,
      shadow: shadow ? { position: shadow.position, ready: e.job?.kind !== 'shadow', fault: shadowFault } : null,
      tables: Object.keys(e.descriptor.tables).map((t) => {
        const sqlName = sqlTableName(name, t)
        return { name: t, sqlName, rows: this.rowCount(sqlName, position) }
      }),
      server: this.publisher?.state(name) ?? null
    }
  }

  private readonly rowCounts = new Map<string, { rows: number; at: number; position: number }>()

  /** A table's row count; counting a large table is a full scan, so a count is reused for a second. */
  private rowCount(sqlName: string, position: number): number {
    const known = this.rowCounts.get(sqlName)
    // Reused only while the projection stays at the same position (a promote or reset clears them).
    if (known && known.position === position && Date.now() - known.at < 1000) return known.rows
    const n = this.options.store.db.prepare(`SELECT count(*) AS n FROM ${quote(sqlName)}`).get() as { n: number } | undefined
    this.rowCounts.set(sqlName, { rows: n?.n ?? 0, at: Date.now(), position })
    return n?.n ?? 0
  }

  private emitStatus(name: string) {
    if (this.entries.has(name)) this.emitter.emit('status', this.status(name))
  }

  private pumpAll() {
    for (const name of this.entries.keys()) void this.pump(name)
  }

  /** Follows the log for one projection until caught up; one batch at a time, yielding between batches. */
  private async pump(name: string): Promise<void> {
    const e = this.entries.get(name)
    if (!e || this.closed) return
    if (e.pumping) {
      e.again = true
      return
    }
    e.pumping = true
    try {
      do {
        e.again = false
        while (!this.closed && !this.holding && !e.paused && !e.fault && !e.job && !e.inlineBusy && !this.promoting.has(name) && this.entries.get(name) === e) {
          if (!e.catchUpHere && e.engine.position() + (this.options.catchUpInJobAbove ?? 20_000) < this.options.store.head()) {
            this.startCatchUp(e)
            break
          }
          const started = performance.now()
          let outcome
          try {
            outcome = await e.engine.step()
          } catch (error) {
            // A conflict (another runner moved the checkpoint) or a sandbox restart: start the batch over.
            if ((error as RpcError).code === 'Conflict' || (error as RpcError).code === 'UserCodeFailed') {
              e.engine.invalidate()
              await new Promise((resolve) => setTimeout(resolve, 20))
              continue
            }
            throw error
          }
          if (outcome.kind === 'idle') break
          if (outcome.kind === 'faulted') e.fault = outcome.fault
          else {
            const seconds = (performance.now() - started) / 1000
            const rate = outcome.events / Math.max(seconds, 0.0001)
            e.throughput = e.throughput === 0 ? rate : e.throughput * 0.7 + rate * 0.3
          }
          this.emitStatus(name)
          await new Promise((resolve) => setImmediate(resolve))
        }
      } while (e.again && !this.closed)
      this.emitStatus(name)
    } finally {
      e.pumping = false
    }
  }

  private appending: Promise<unknown> = Promise.resolve()

  /**
   * Stores events and, in the same transaction, the writes of the inline projections for them. A handler that
   * throws refuses the append (nothing is stored) with the projection, the event and the source line named.
   * Inline appends run one at a time, since each predicts the log's next positions.
   */
  append(streamId: string, events: NewEvent[], options: { expectedVersion?: ExpectedVersion } = {}): Promise<AppendResult> {
    const run = this.appending.then(() => this.appendInline({ streamId, events, expectedVersion: options.expectedVersion ?? 'any' }))
    this.appending = run.catch(() => {})
    return run
  }

  private inlineEntries(): Entry[] {
    return [...this.entries.values()].filter((e) => e.descriptor.lifecycle === 'inline' && !e.paused && !e.fault && !e.job && !this.promoting.has(e.descriptor.name))
  }

  private async appendInline(input: AppendInput): Promise<AppendResult> {
    // New code is being loaded: the inline projections run again once it is (a plain append need not wait).
    while (this.holding && !this.closed && this.inlineEntries().length) await this.holding.until
    this.inlineRunning++
    try {
      return await this.appendInlineNow(input)
    } finally {
      this.inlineRunning--
    }
  }

  private async appendInlineNow(input: AppendInput): Promise<AppendResult> {
    const store = this.options.store
    if (this.closed || !this.inlineEntries().length) return store.appendToStream(input.streamId, input.events, { expectedVersion: input.expectedVersion })
    // Ids are fixed once, so a retry is the same append (and a repeat is recognised by the store).
    const events = input.events.map((event) => ({ ...event, id: event.id ?? bytesToUuid(uuidv7Bytes()) }))
    const checked = events.map((event, index) => checkNewEvent(event, input.streamId, index))
    for (let attempt = 0; ; attempt++) {
      const inline = this.inlineEntries()
      if (!inline.length) return store.appendToStream(input.streamId, events, { expectedVersion: input.expectedVersion })
      for (const e of inline) e.inlineBusy = true
      try {
        // Wait for a runner batch in flight, then bring each inline projection to the head.
        while (inline.some((e) => e.pumping)) await new Promise((resolve) => setTimeout(resolve, 1))
        await this.catchUpInline(inline)
        const ready = inline.filter((e) => !e.fault)
        const head = store.head()
        const version = store.streamVersion(input.streamId)
        const recordedAt = Date.now()
        const rows: EventRow[] = checked.map((c, i) => ({
          position: head + i + 1,
          stream_id: input.streamId,
          version: version + i + 1,
          type: c.type,
          schema_version: c.schemaVersion,
          id: c.id,
          data: c.data,
          metadata: c.metadata,
          recorded_at: recordedAt
        }))
        const batches: Array<[Entry, PreparedBatch]> = []
        for (const e of ready) {
          try {
            batches.push([e, await e.engine.prepare(e.engine.selectEvents(rows), head, head + rows.length)])
          } catch (error) {
            for (const x of ready) x.engine.invalidate()
            throw this.inlineFailure(e, input.streamId, error)
          }
        }
        try {
          const result = await store.appendToStream(input.streamId, events, {
            expectedVersion: input.expectedVersion,
            recordedAt,
            inTransaction: (stored) => {
              if (stored.firstPosition !== head + 1) throw new Moved()
              for (const [e, batch] of batches) e.engine.applyBatch(batch)
            }
          })
          // A repeated append stores nothing and runs no hook: the handlers' writes were not committed.
          if (result.duplicate) for (const [e] of batches) e.engine.invalidate()
          else for (const [e, batch] of batches) this.publisher?.committed(e.descriptor.name, batch)
          return result
        } catch (error) {
          for (const [e] of batches) e.engine.invalidate()
          const retry = error instanceof Moved || (error as RpcError).code === 'Conflict'
          if (!retry || attempt >= MAX_INLINE_ATTEMPTS) throw error
        }
      } finally {
        for (const e of inline) e.inlineBusy = false
        // Events that arrived meanwhile (another process, a teammate's append copied from the server) found the
        // runner kept away: it follows them now.
        for (const e of inline) if (store.head() > e.engine.position()) void this.pump(e.descriptor.name)
        for (const e of inline) this.scheduleStatus(e.descriptor.name)
      }
    }
  }

  /** Runs inline projections up to the log's head (events appended by other processes). */
  private async catchUpInline(inline: Entry[]): Promise<void> {
    for (const e of inline) {
      for (;;) {
        let outcome
        try {
          outcome = await e.engine.step()
        } catch (error) {
          if ((error as RpcError).code === 'Conflict' || (error as RpcError).code === 'UserCodeFailed') {
            e.engine.invalidate()
            continue
          }
          throw error
        }
        if (outcome.kind === 'idle') break
        if (outcome.kind === 'faulted') {
          e.fault = outcome.fault
          break
        }
      }
    }
  }

  private inlineFailure(e: Entry, streamId: string, error: unknown): RpcError {
    const err = error instanceof RpcError ? error : new RpcError('Internal', error instanceof Error ? error.message : String(error))
    if (err.code !== 'UserCodeFailed' && err.code !== 'Timeout') return err
    return new RpcError(err.code, `Inline projection ${e.descriptor.name} failed on the append to ${streamId}; nothing was stored: ${err.message}`, {
      ...((err.details ?? {}) as object),
      projection: e.descriptor.name,
      streamId
    })
  }

  private readonly statusTimers = new Map<string, NodeJS.Timeout>()

  /** Status after inline appends, at most a few times a second per projection. */
  private scheduleStatus(name: string) {
    if (this.statusTimers.has(name) || this.closed) return
    this.statusTimers.set(
      name,
      setTimeout(() => {
        this.statusTimers.delete(name)
        this.emitStatus(name)
      }, 200)
    )
  }

  /** Waits until every projection that can run has caught up (tests, the CLI). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const busy = [...this.entries.values()].some((e) => e.pumping || e.job || (!e.paused && !e.fault && e.engine.position() < this.options.store.head()))
      if (!busy) return
      if (Date.now() > until) throw new RpcError('Timeout', 'Projections did not catch up in time')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  pause(name: string): ProjectionStatus {
    const e = this.entry(name)
    // A rebuild, shadow run or catch-up in progress is held where it is, between two batches.
    if (e.job?.running.pause) {
      e.job.running.pause(true)
      e.job.paused = true
      this.emitStatus(name)
      return this.status(name)
    }
    e.paused = true
    e.engine.setStatus('paused')
    return this.status(name)
  }

  resume(name: string): ProjectionStatus {
    const e = this.entry(name)
    if (e.job?.paused) {
      e.job.running.pause?.(false)
      e.job.paused = false
      this.emitStatus(name)
      return this.status(name)
    }
    e.paused = false
    e.engine.setStatus('running')
    void this.pump(name)
    return this.status(name)
  }

  /** Runs the poison event again (with the code as it is now). */
  retry(name: string): ProjectionStatus {
    const e = this.entry(name)
    if (!e.fault) throw new RpcError('Conflict', `Projection ${name} is not faulted`)
    e.fault = null
    e.engine.setStatus('running')
    void this.pump(name)
    return this.status(name)
  }

  /** Moves past the poison event without applying it. */
  skip(name: string): ProjectionStatus {
    const e = this.entry(name)
    if (!e.fault) throw new RpcError('Conflict', `Projection ${name} is not faulted`)
    e.engine.skipTo(e.fault.position)
    e.fault = null
    void this.pump(name)
    return this.status(name)
  }

  /** Empties the read model and starts again from position 0 (in this thread: use rebuild for large logs). */
  reset(name: string): ProjectionStatus {
    const e = this.entry(name)
    this.assertNoJob(e)
    const db = this.options.store.db
    this.options.store.writeTransaction(() => {
      dropTables(db, name, Object.keys(e.descriptor.tables))
      this.rowCounts.clear()
      db.prepare('DELETE FROM projection_checkpoints WHERE projection = ?').run(name)
    })
    e.fault = null
    e.engine = this.engineFor(e.descriptor)
    this.publisher?.replaced(name, true)
    void this.pump(name)
    return this.status(name)
  }

  private assertNoJob(e: Entry) {
    if (e.job) throw new RpcError('Conflict', `Projection ${e.descriptor.name} has a ${e.job.kind} job running`)
  }

  private startJob(e: Entry, mode: ProjectionTask['mode']): Promise<ProjectionJobResult> {
    this.assertNoJob(e)
    const upcasters = this.options.upcasters?.() ?? []
    const task: JobTask = {
      kind: 'projection',
      dbFile: this.options.store.file,
      prelude: this.options.prelude(),
      file: e.descriptor.file,
      source: this.options.source(e.descriptor.file),
      upcasters,
      projection: e.descriptor.name,
      mode
    }
    const name = e.descriptor.name
    // The code the job runs (it may be edited while the job runs): what its rows are recorded as built by.
    const code = this.codeOf(e.descriptor, task.source, upcasters)
    this.jobCodes.set(name, code)
    if (mode === 'shadow') this.publisher?.recordBuild(checkpointName(name, true), code)
    const start = this.options.startJob ?? ((t, p) => runInWorker(t, p))
    const running = start(task, (done, total) => {
      if (!e.job) return
      e.job.done = done
      e.job.total = total
      this.emitter.emit('progress', { projection: name, kind: mode, done, total })
    })
    e.job = { kind: mode, done: 0, total: null, running, paused: false }
    this.emitStatus(name)
    return (running.result as Promise<ProjectionJobResult>).finally(() => {
      // The code may have been loaded again meanwhile: the entry that holds the job now is another one.
      for (const x of [e, this.entries.get(name)]) if (x?.job?.running === running) x.job = null
      this.rowCounts.clear()
      // A catch-up wrote the live tables in another thread (a promoted rebuild: see rebuild); any other job may have
      // held publishing up.
      if (mode === 'catch-up') this.publisher?.replaced(name, false, code)
      else if (mode !== 'rebuild') this.publisher?.nudge(name)
      // The job changed tables behind the sandbox's row cache.
      this.current(e).engine.invalidate()
      this.emitStatus(name)
      // After the caller has seen the outcome (a fault, a cancel that pauses).
      setImmediate(() => void this.pump(name))
    })
  }

  /** The entry of e's projection now (the code may have been loaded again since e was). */
  private current(e: Entry): Entry {
    return this.entries.get(e.descriptor.name) ?? e
  }

  /** Catches up a large lag in a job thread; the runner here goes on from where the job stopped. */
  private startCatchUp(first: Entry) {
    void this.startJob(first, 'catch-up')
      .then((result) => {
        if ('fault' in result && result.fault) this.current(first).fault = result.fault
      })
      .catch((error: unknown) => {
        const e = this.current(first)
        // Cancelled by the user: stop following until resumed. Any other failure: catch up here instead.
        if ((error as RpcError).code === 'Cancelled') {
          e.paused = true
          e.engine.setStatus('paused')
        } else e.catchUpHere = true
      })
  }

  /** Cancels a projection's running job. */
  cancelJob(name: string): ProjectionStatus {
    this.entry(name).job?.running.cancel()
    return this.status(name)
  }

  /** Rebuilds from zero in a job (shadow tables, promoted when complete); resolves when the job ends. */
  async rebuild(name: string): Promise<ProjectionJobResult> {
    let promoted = false
    try {
      const result = await this.startJob(this.entry(name), 'rebuild')
      const e = this.entries.get(name)
      if (e) e.fault = 'fault' in result && result.fault ? result.fault : null
      promoted = 'promoted' in result && result.promoted
      return result
    } finally {
      // Rebuilt with the code the job ran: the server's copy is replaced even if other code made it.
      if (promoted) this.publisher?.replaced(name, true, this.jobCodes.get(name))
      else this.publisher?.nudge(name)
    }
  }

  /** Starts a rebuild without waiting for it. */
  startRebuild(name: string): ProjectionStatus {
    void this.rebuild(name).catch(() => {})
    return this.status(name)
  }

  shadowStart(name: string): Promise<ProjectionJobResult> {
    return this.startJob(this.entry(name), 'shadow')
  }

  shadowDiff(name: string, samples = 10): RowDiff[] {
    const e = this.entry(name)
    if (!readCheckpoint(this.options.store.db, checkpointName(name, true))) throw new RpcError('NotFound', `Projection ${name} has no shadow run`)
    return diffShadow(this.options.store.db, e.descriptor, samples)
  }

  /** Swaps the shadow tables in, atomically; the live runner goes on from the shadow's position. */
  async shadowPromote(name: string): Promise<ProjectionStatus> {
    const e = this.entry(name)
    this.assertNoJob(e)
    // Keep the runner away while the tables change (the projection's, whichever entry is current: the code may be
    // loaded again meanwhile), after the batch in flight.
    this.promoting.add(name)
    try {
      while (this.entries.get(name)?.pumping) await new Promise((resolve) => setTimeout(resolve, 5))
      for (;;) {
        try {
          promoteShadow(this.options.store.db, e.descriptor, (fn) => this.options.store.writeTransaction(fn))
          this.rowCounts.clear()
          break
        } catch (error) {
          if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }
      const current = this.current(e)
      current.fault = null
      current.engine = this.engineFor(current.descriptor)
      // The shadow's rows, built by the code its run had.
      this.publisher?.replaced(name, true, this.publisher.builtBy(checkpointName(name, true)) ?? MIXED)
    } finally {
      this.promoting.delete(name)
    }
    void this.pump(name)
    return this.status(name)
  }

  shadowDiscard(name: string): ProjectionStatus {
    const e = this.entry(name)
    this.assertNoJob(e)
    this.options.store.writeTransaction(() => discardShadow(this.options.store.db, e.descriptor))
    return this.status(name)
  }

  async check(name: string, check: 'determinism' | 'idempotency'): Promise<CheckResult> {
    const result = await this.startJob(this.entry(name), check)
    if (!('check' in result)) throw new RpcError('Internal', 'The check job answered something else')
    return result.check
  }

  private lag(name: string, shadow = false) {
    const position = readCheckpoint(this.options.store.db, checkpointName(name, shadow))?.position ?? 0
    const headPosition = this.options.store.head()
    return { position, headPosition, lagEvents: Math.max(headPosition - position, 0) }
  }

  /** A page of a read-model table, with how far behind the log it is. */
  page(input: Parameters<typeof pageRequest.parse>[0]): RowsPage {
    const parsed: PageInput = pageRequest.parse(input)
    const e = this.entry(parsed.projection)
    // Position first: rows read after it are at least that fresh.
    const lag = this.lag(parsed.projection, parsed.shadow)
    return readPage(this.options.store.db, e.descriptor, parsed, lag)
  }

  /** Runs a named query: the sandbox validates the input and plans the read; the read runs here on the tables. */
  async runQuery(input: { projection: string; query: string; input: unknown; after?: string | null; limit?: number }): Promise<RowsPage> {
    const e = this.entry(input.projection)
    const { result } = await this.options.runner.call<
      | { outcome: 'planned'; plan: { table: string; where: Record<string, unknown>; orderBy: string | null; direction: 'asc' | 'desc' } }
      | { outcome: 'invalid'; issues: Array<{ path: string; message: string }> }
      | { outcome: 'unknown-query'; queries: string[] }
    >({ op: 'projection.query', file: e.descriptor.file, exportName: e.descriptor.exportName, query: input.query, input: input.input ?? null }, `${input.projection}.queries.${input.query}`)
    if (result.outcome === 'unknown-query') throw new RpcError('NotFound', `Projection ${input.projection} has no query ${input.query} (queries: ${result.queries.join(', ') || 'none'})`)
    if (result.outcome === 'invalid') {
      throw new RpcError('InvalidInput', `Input of ${input.projection}.${input.query}: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues: result.issues })
    }
    const plan = result.plan
    return this.page({
      projection: input.projection,
      table: plan.table,
      where: plan.where as PageInput['where'],
      orderBy: plan.orderBy ?? undefined,
      direction: plan.direction,
      after: input.after ?? null,
      limit: input.limit ?? 200
    })
  }

  async close(): Promise<void> {
    this.closed = true
    // Appends held for a reload go on (to the store alone, now).
    this.endHold()
    for (const timer of this.statusTimers.values()) clearTimeout(timer)
    this.statusTimers.clear()
    await this.appending
    this.stopFollowing?.()
    for (const e of this.entries.values()) e.job?.running.cancel()
    while ([...this.entries.values()].some((e) => e.pumping)) await new Promise((resolve) => setTimeout(resolve, 5))
    await this.publisher?.close()
  }
}

/** Sets a projection's checkpoint (tests and maintenance). */
export function setCheckpoint(store: SqliteEventStore, name: string, position: number): void {
  const current = readCheckpoint(store.db, name)
  writeCheckpoint(store.db, { projection: name, position, status: current?.status ?? 'running', error: current?.error ?? null, schema: current?.schema ?? null })
}
