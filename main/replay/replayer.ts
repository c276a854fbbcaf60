import { createHash } from 'node:crypto'
import type { ReplayPoint, ReplayStep } from '../../shared/contract/replay'
import { categoryOf, type RecordedEvent } from '../../shared/model/events'
import { RpcError } from '../../shared/rpc/errors'
import type { DeciderHandle } from '../cqrs/command-bus'
import type { CodeRunner } from '../cqrs/runner'
import type { SqliteEventStore } from '../store/sqlite-store'
import { blame, changesBetween, eventRef } from './changes'
import { readStreamEvents } from './read-path'
import { buildFixture } from './fixture'
import { SnapshotStore } from './snapshots'

export interface ReplaySource {
  store: SqliteEventStore
  runner: CodeRunner
  deciders(): DeciderHandle[]
  /** The source text of a definition file (its hash keys snapshots). */
  source(file: string): string
}

export const DEFAULT_SNAPSHOT_EVERY = 100
const FOLD_BATCH = 2000

export function codeHash(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16)
}

/** Rehydrates streams with their deciders: state at a point, snapshots, step-through, blame, determinism. */
export class Replayer {
  readonly snapshots: SnapshotStore

  constructor(private readonly source: ReplaySource) {
    this.snapshots = new SnapshotStore(source.store.db)
  }

  /** The decider for a stream: named explicitly, or the one whose stream prefix is the stream's category. */
  deciderFor(streamId: string, name?: string): DeciderHandle {
    const deciders = this.source.deciders()
    if (name) {
      const found = deciders.find((d) => d.name === name)
      if (!found) throw new RpcError('NotFound', `No decider named ${name}`, { field: 'decider' })
      return found
    }
    const category = categoryOf(streamId)
    const found = deciders.find((d) => d.streamPrefix === category)
    if (!found) {
      throw new RpcError('NotFound', `No decider replays stream ${streamId}: none has stream prefix '${category}' (there are ${deciders.map((d) => `${d.name}: ${d.streamPrefix}`).join(', ') || 'no deciders'})`, { streamId })
    }
    return found
  }

  private hashOf(decider: DeciderHandle): string {
    return codeHash(this.source.source(decider.file))
  }

  private async fold(decider: DeciderHandle, state: unknown, events: RecordedEvent[], keep?: number[]): Promise<{ state: unknown; kept: Record<number, unknown> }> {
    let current = state
    const kept: Record<number, unknown> = {}
    for (let i = 0; i < events.length; i += FOLD_BATCH) {
      const batch = events.slice(i, i + FOLD_BATCH)
      const { result } = await this.source.runner.call<{ state: unknown; kept: Record<number, unknown> }>(
        { op: 'decider.fold', file: decider.file, exportName: decider.exportName, state: current ?? null, events: batch, keep },
        `${decider.name}.evolve`
      )
      current = result.state
      Object.assign(kept, result.kept)
    }
    return { state: current, kept }
  }

  private async initial(decider: DeciderHandle): Promise<unknown> {
    return (await this.source.runner.call({ op: 'decider.initial', file: decider.file, exportName: decider.exportName }, `${decider.name}.initialState`)).result
  }

  /** The stream version a point stands for. */
  versionAt(streamId: string, at: ReplayPoint | undefined, streamVersion: number): number {
    if (!at) return streamVersion
    if ('version' in at) return Math.min(at.version, streamVersion)
    // One indexed query rather than reading the stream on the main thread.
    if ('position' in at) return this.source.store.streamVersionAt(streamId, { position: at.position })
    return this.source.store.streamVersionAt(streamId, { time: typeof at.time === 'number' ? at.time : Date.parse(at.time) })
  }

  async stateAt(streamId: string, options: { decider?: string; at?: ReplayPoint; useSnapshots?: boolean } = {}) {
    const decider = this.deciderFor(streamId, options.decider)
    const streamVersion = this.source.store.readStreamSync(streamId, { limit: 1 }).version
    const version = this.versionAt(streamId, options.at, streamVersion)
    const hash = this.hashOf(decider)
    const useSnapshots = options.useSnapshots !== false
    const snapshot = useSnapshots ? this.snapshots.find(streamId, hash, version) : null
    const events = readStreamEvents(this.source.store, streamId, (snapshot?.version ?? 0) + 1, version)
    const every = decider.snapshotEvery || DEFAULT_SNAPSHOT_EVERY
    const keep = useSnapshots ? events.filter((e) => e.version % every === 0).map((e) => e.version) : undefined
    const start = snapshot ? snapshot.state : await this.initial(decider)
    const { state, kept } = await this.fold(decider, start, events, keep)
    for (const [v, s] of Object.entries(kept)) this.snapshots.save(streamId, decider.name, hash, Number(v), s)
    const last = events.at(-1) ?? (version > 0 ? readStreamEvents(this.source.store, streamId, version, version)[0] : undefined)
    return {
      streamId,
      decider: decider.name,
      state,
      version,
      event: last ? eventRef(last) : null,
      snapshotVersion: snapshot?.version ?? null,
      eventsFolded: events.length,
      streamVersion
    }
  }

  /** Each event of a window with the state before and after it and the field changes. */
  async steps(streamId: string, options: { decider?: string; fromVersion?: number; limit?: number } = {}): Promise<{ decider: string; steps: ReplayStep[]; streamVersion: number; next: number | null }> {
    const decider = this.deciderFor(streamId, options.decider)
    const from = options.fromVersion ?? 1
    const limit = options.limit ?? 200
    const before = await this.stateAt(streamId, { decider: decider.name, at: { version: from - 1 } })
    const events = readStreamEvents(this.source.store, streamId, from, from + limit - 1)
    const { result } = await this.source.runner.call<{ state: unknown; states: unknown[]; read?: Record<number, RecordedEvent[]> }>(
      { op: 'decider.fold', file: decider.file, exportName: decider.exportName, state: before.state ?? null, events, steps: true },
      `${decider.name}.evolve`
    )
    let previous = before.state
    const steps = events.map((event, i) => {
      const after = result.states[i]
      const read = result.read?.[i]
      const step: ReplayStep = { event, ...(read ? { read } : {}), before: previous, after, changes: changesBetween(previous, after) }
      previous = after
      return step
    })
    const last = events.at(-1)?.version ?? from - 1
    return { decider: decider.name, steps, streamVersion: before.streamVersion, next: last < before.streamVersion ? last + 1 : null }
  }

  /** For the state at a point, the event that last changed each field. */
  async blame(streamId: string, options: { decider?: string; at?: ReplayPoint } = {}) {
    const decider = this.deciderFor(streamId, options.decider)
    const streamVersion = this.source.store.readStreamSync(streamId, { limit: 1 }).version
    const version = this.versionAt(streamId, options.at, streamVersion)
    const all: ReplayStep[] = []
    let from = 1
    while (from <= version) {
      const window = await this.steps(streamId, { decider: decider.name, fromVersion: from, limit: Math.min(1000, version - from + 1) })
      all.push(...window.steps)
      if (window.steps.length === 0) break
      from = window.steps.at(-1)!.event.version + 1
    }
    const finalState = all.at(-1)?.after ?? (await this.initial(decider))
    return { decider: decider.name, version, fields: blame(finalState, all) }
  }

  /**
   * Replays the whole stream in two fresh sandboxes, the second one after it has already replayed the stream once,
   * and reports the first event after which the states differ: anything that does not come from the events and
   * the engine's clock and randomness (module-level state, say) shows up.
   */
  async checkDeterminism(streamId: string, first: CodeRunner, second: CodeRunner, options: { decider?: string } = {}) {
    const decider = this.deciderFor(streamId, options.decider)
    const events = readStreamEvents(this.source.store, streamId)
    const run = async (runner: CodeRunner) => {
      const initial = (await runner.call({ op: 'decider.initial', file: decider.file, exportName: decider.exportName }, `${decider.name}.initialState`)).result
      const states: unknown[] = []
      let state = initial
      for (let i = 0; i < events.length; i += FOLD_BATCH) {
        const { result } = await runner.call<{ state: unknown; states: unknown[] }>(
          { op: 'decider.fold', file: decider.file, exportName: decider.exportName, state: state ?? null, events: events.slice(i, i + FOLD_BATCH), steps: true },
          `${decider.name}.evolve`
        )
        states.push(...result.states)
        state = result.state
      }
      return states
    }
    const a = await run(first)
    await run(second)
    const b = await run(second)
    for (let i = 0; i < events.length; i++) {
      const changes = changesBetween(a[i], b[i])
      if (changes.length) return { deterministic: false, eventsChecked: i + 1, divergence: { event: eventRef(events[i]), changes } }
    }
    return { deterministic: true, eventsChecked: events.length, divergence: null }
  }

  /** The slice given (1..givenUpTo) → when (givenUpTo+1..thenUpTo) → then (the state) as a test fixture. */
  async fixture(streamId: string, options: { decider?: string; givenUpTo: number; thenUpTo: number }) {
    const decider = this.deciderFor(streamId, options.decider)
    if (options.thenUpTo <= options.givenUpTo) {
      throw new RpcError('InvalidInput', `thenUpTo (${options.thenUpTo}) must come after givenUpTo (${options.givenUpTo})`, { field: 'thenUpTo' })
    }
    const events = readStreamEvents(this.source.store, streamId, 1, options.thenUpTo)
    if (events.length < options.thenUpTo) throw new RpcError('InvalidInput', `Stream ${streamId} has only ${events.length} events`, { field: 'thenUpTo' })
    const after = await this.stateAt(streamId, { decider: decider.name, at: { version: options.thenUpTo } })
    return buildFixture({
      streamId,
      decider: decider.name,
      deciderFile: decider.file,
      given: events.filter((e) => e.version <= options.givenUpTo),
      when: events.filter((e) => e.version > options.givenUpTo),
      then: after.state
    })
  }

  purge(options: { decider?: string; staleOnly?: boolean }): number {
    const keepHashes = options.staleOnly ? this.source.deciders().map((d) => this.hashOf(d)) : undefined
    return this.snapshots.purge({ decider: options.decider, keepHashes })
  }
}
