import { EventEmitter } from 'node:events'
import type { Statement } from 'better-sqlite3'
import type { CommandOutcome } from '../../shared/contract/commands'
import type { SagaDescriptor, SagaFault, SagaInstance, SagaProblem } from '../../shared/contract/sagas'
import type { RecordedEvent } from '../../shared/model/events'
import { RpcError } from '../../shared/rpc/errors'
import type { SendCommand } from '../cqrs/command-bus'
import type { CodeRunner } from '../cqrs/runner'
import type { SqliteEventStore } from '../store/sqlite-store'
import { toRecordedEvent } from '../store/sqlite-store'
import { uuidFromName } from '../store/uuid'
import type { SagaCommand } from './saga-runtime'
import { SagaClock } from './clock'
import { applyEvents, foldInstance, isFinished, SAGA_EVENTS, sagaStreamId, summary, type InstanceState, type StartEvent } from './state'

export interface SagaCoordinatorOptions {
  store: SqliteEventStore
  runner: CodeRunner
  /** Sends a command (the workspace's command bus). */
  send: (command: SendCommand) => Promise<CommandOutcome>
  clock?: SagaClock
  /** How often deadlines are checked on a running clock (ms). */
  tickMs?: number
  /**
   * After a start, send again the commands of steps recorded as sent but not answered (a restart: the first outcome
   * comes back under the same key). A branch turns this off: what was sent before the fork stays unanswered there.
   */
  resendInFlight?: boolean
}

const CHECKPOINT = 'coordinator'
const BATCH = 500

/** The definition checks: a step that can be neither undone nor is marked as the point of no return. */
export function checkSagas(sagas: SagaDescriptor[]): SagaProblem[] {
  const problems: SagaProblem[] = []
  for (const saga of sagas) {
    saga.steps.forEach((step, i) => {
      // The last step needs no compensation: no later step can fail after it.
      if (i === saga.steps.length - 1 || step.hasCompensation || step.pointOfNoReturn) return
      problems.push({
        saga: saga.name,
        step: step.name,
        file: saga.file,
        message: `Saga ${saga.name}: step ${step.name} has an action but no compensation; if a later step fails it cannot be undone (add compensate, or mark it pointOfNoReturn)`
      })
    })
  }
  return problems
}

/**
 * Runs the workspace's sagas (orchestration): follows the log from its checkpoint, starts an instance for each
 * starting event, sends each step's command through the command bus, completes or fails the step on its events, a
 * rejection or its deadline (with retries and backoff), and on failure sends the compensations of the completed steps
 * in reverse order; a compensation that fails parks the instance for a person. Every decision is first recorded in
 * the instance's saga stream (`saga-<name>-<id>`), and every command carries an idempotency key derived from that
 * stream, so after a restart each instance goes on where it was without sending a command twice.
 */
export class SagaCoordinator {
  readonly clock: SagaClock
  private sagas: SagaDescriptor[] = []
  private readonly instances = new Map<string, InstanceState>()
  private readonly queues = new Map<string, Promise<void>>()
  private readonly faults: SagaFault[] = []
  private readonly bound = new Map<string, SagaFault[]>()
  private readonly emitter = new EventEmitter()
  private stops: Array<() => void> = []
  private pumping: Promise<void> | null = null
  private again = false
  private closed = false
  private paused = false
  private readonly errors: string[] = []

  constructor(private readonly options: SagaCoordinatorOptions) {
    this.clock = options.clock ?? new SagaClock()
    this.emitter.setMaxListeners(0)
    options.store.db.exec('CREATE TABLE IF NOT EXISTS saga_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)')
    this.readCheckpoint = options.store.db.prepare('SELECT position FROM saga_checkpoints WHERE name = ?')
    this.writeCheckpoint = options.store.db.prepare('INSERT INTO saga_checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position')
  }

  /** Reads the sagas of loaded definition files from the sandbox. */
  async describeFiles(files: string[]): Promise<SagaDescriptor[]> {
    const out: SagaDescriptor[] = []
    for (const file of files) {
      const { result } = await this.options.runner.call<Array<Omit<SagaDescriptor, 'file'>>>({ op: 'saga.describe', file }, `describing ${file}`)
      for (const d of result) out.push({ ...d, file })
    }
    return out
  }

  /** Replaces the sagas (after the code was loaded), loads the instances from their streams and starts following. */
  async setSagas(sagas: SagaDescriptor[]): Promise<void> {
    this.sagas = sagas
    this.startTypes = new Set(sagas.flatMap((s) => s.startedBy))
    // Sagas react to what is appended after they were first loaded, not to the history before them.
    if (sagas.length && !this.hasCheckpoint()) this.setCheckpoint(this.options.store.head())
    this.instances.clear()
    this.loadInstances()
    if (!this.stops.length) {
      this.stops.push(this.options.store.onAppended(() => void this.pump()))
      this.stops.push(this.clock.onMoved(() => this.tick()))
      const timer = setInterval(() => this.tick(), this.options.tickMs ?? 500)
      timer.unref()
      this.stops.push(() => clearInterval(timer))
    }
    for (const s of this.instances.values()) if (!isFinished(s.status)) this.drive(s.streamId)
    await this.pump()
  }

  list(): SagaDescriptor[] {
    return this.sagas
  }

  problems(): SagaProblem[] {
    return checkSagas(this.sagas)
  }

  on(event: 'instance', listener: (instance: SagaInstance) => void): () => void
  on(event: 'errors', listener: (errors: string[]) => void): () => void
  on(event: 'instance' | 'errors', listener: (value: SagaInstance & string[]) => void): () => void {
    this.emitter.on(event, listener)
    return () => this.emitter.off(event, listener)
  }

  /** Errors the coordinator met (a saga's code failing outside a step); the last few. */
  recentErrors(): string[] {
    return [...this.errors]
  }

  instancesList(filter: { saga?: string; status?: string; limit?: number } = {}): { instances: SagaInstance[]; total: number; counts: Record<string, number> } {
    const all = [...this.instances.values()].filter((s) => !filter.saga || s.saga === filter.saga)
    const counts: Record<string, number> = {}
    for (const s of all) counts[s.status] = (counts[s.status] ?? 0) + 1
    const matching = all.filter((s) => !filter.status || s.status === filter.status).sort((a, b) => b.startedAt - a.startedAt || (a.streamId < b.streamId ? 1 : -1))
    return { instances: matching.slice(0, filter.limit ?? 200).map(summary), total: matching.length, counts }
  }

  instance(streamId: string): { instance: SagaInstance; timeline: RecordedEvent[] } {
    const s = this.instances.get(streamId)
    if (!s) throw new RpcError('NotFound', `No saga instance ${streamId}`, { streamId })
    return { instance: summary(s), timeline: this.options.store.readStreamSync(streamId, { limit: 10_000 }).events }
  }

  /** Arms a fault: for a given running instance, or for the next instance of the saga that starts. */
  injectFault(fault: SagaFault): SagaFault[] {
    const saga = this.saga(fault.saga)
    if (!saga.steps.some((s) => s.name === fault.step)) throw new RpcError('NotFound', `Saga ${fault.saga} has no step ${fault.step} (steps: ${saga.steps.map((s) => s.name).join(', ')})`, { field: 'step' })
    if (fault.instance) {
      const streamId = fault.instance.startsWith('saga-') ? fault.instance : sagaStreamId(fault.saga, fault.instance)
      if (!this.instances.has(streamId)) throw new RpcError('NotFound', `No saga instance ${streamId}`, { field: 'instance' })
      this.bound.set(streamId, [...(this.bound.get(streamId) ?? []), fault])
    } else this.faults.push(fault)
    return this.armedFaults()
  }

  /** The faults armed for next instances and bound to running ones. */
  armedFaults(): SagaFault[] {
    return [...this.faults, ...[...this.bound.values()].flat()]
  }

  /** Disarms the faults of a saga (all sagas when none is named). */
  clearFaults(saga?: string): SagaFault[] {
    for (let i = this.faults.length - 1; i >= 0; i--) if (!saga || this.faults[i].saga === saga) this.faults.splice(i, 1)
    for (const [key, list] of this.bound) {
      const kept = list.filter((f) => saga && f.saga !== saga)
      if (kept.length) this.bound.set(key, kept)
      else this.bound.delete(key)
    }
    return this.armedFaults()
  }

  private saga(name: string): SagaDescriptor {
    const saga = this.sagas.find((s) => s.name === name)
    if (!saga) throw new RpcError('NotFound', `No saga ${name} in this workspace (sagas: ${this.sagas.map((s) => s.name).join(', ') || 'none'})`, { field: 'saga' })
    return saga
  }

  // ------------------------------------------------------------------------------------------ following the log

  /** Stops following the log and driving instances (while another thread generates the log). */
  pause(): void {
    this.paused = true
  }

  async resume(): Promise<void> {
    this.paused = false
    this.instances.clear()
    this.loadInstances()
    for (const s of this.instances.values()) if (!isFinished(s.status)) this.drive(s.streamId)
    await this.pump()
  }

  private hasCheckpoint(): boolean {
    return this.readCheckpoint.get(CHECKPOINT) !== undefined
  }

  private readonly readCheckpoint: Statement<[string], { position: number }>
  private readonly writeCheckpoint: Statement<[string, number]>

  private checkpoint(): number {
    return this.readCheckpoint.get(CHECKPOINT)?.position ?? 0
  }

  /** Starts following the log from here (the sagas ignore what came before: a demo log generated without them). */
  setCheckpoint(position: number): void {
    this.writeCheckpoint.run(CHECKPOINT, position)
  }

  private loadInstances() {
    const db = this.options.store.db
    const ids = db.prepare<[], { stream_id: string }>("SELECT stream_id FROM streams WHERE category = 'saga'").all()
    for (const { stream_id } of ids) {
      const s = this.reload(stream_id)
      if (s && this.options.resendInFlight === false) this.sentHere.add(`${s.streamId}:${s.version}`)
    }
  }

  private reload(streamId: string): InstanceState | null {
    const events = this.options.store.readStreamSync(streamId, { limit: 10_000 }).events
    const started = events[0]?.data as { saga?: string } | undefined
    const saga = this.sagas.find((s) => s.name === started?.saga)
    const state = foldInstance(events, saga ? saga.steps.map((s) => s.name) : [])
    if (state) this.instances.set(streamId, state)
    return state
  }

  /** Follows the log: routes new events to instances (starting them), one batch at a time. */
  pump(): Promise<void> {
    if (this.paused || this.closed) return Promise.resolve()
    if (this.pumping) {
      this.again = true
      return this.pumping
    }
    this.pumping = (async () => {
      // Yield first, so `pumping` is set before the body can finish.
      await null
      try {
        do {
          this.again = false
          while (!this.closed && !this.paused && this.sagas.length) {
            const moved = await this.step()
            if (!moved) break
          }
        } while (this.again && !this.closed)
      } catch (error) {
        this.remember(`following the log: ${(error as Error).message}`)
      } finally {
        this.pumping = null
      }
    })()
    return this.pumping
  }

  /** Ids of commands this coordinator sent recently (their events are not routed again). */
  private readonly ownCommands = new Set<string>()
  private startTypes = new Set<string>()

  private types(): string[] {
    const types = new Set<string>()
    for (const s of this.sagas) {
      for (const t of s.startedBy) types.add(t)
      for (const step of s.steps) for (const t of [...step.onSuccess, ...step.onFailure]) types.add(t)
    }
    return [...types]
  }

  private async step(): Promise<boolean> {
    const from = this.checkpoint()
    const types = this.types()
    const page = this.options.store.readAllRawSync({ from: from + 1, limit: BATCH, filter: types.length ? { types: types.slice(0, 100) } : undefined })
    const to = page.next !== null ? page.next - 1 : Math.max(from, page.headPosition)
    if (to === from) return false
    // Events of commands the coordinator sent itself were judged when their outcome came back; only a starting event
    // among them needs routing.
    const events = page.rows
      .map(toRecordedEvent)
      .filter((e) => !e.streamId.startsWith('saga-') && (!this.ownCommands.has(String(e.metadata?.causationId)) || this.startTypes.has(e.type)))
    if (events.length) {
      const result = await this.routeAll(events)
      for (let i = 0; i < events.length; i++) {
        for (const [index, id] of result[i] ?? []) await this.route(this.sagas[index], id, events[i])
      }
    }
    this.setCheckpoint(to)
    return true
  }

  private async route(saga: SagaDescriptor, id: string, event: RecordedEvent): Promise<void> {
    const streamId = sagaStreamId(saga.name, id)
    if (saga.startedBy.includes(event.type) && !this.instances.has(streamId)) {
      const start: StartEvent = { position: event.position, streamId: event.streamId, type: event.type, id: event.id, data: event.data, metadata: event.metadata }
      const correlationId = String((event.metadata as { correlationId?: unknown } | null)?.correlationId ?? id)
      try {
        await this.options.store.appendToStream(
          streamId,
          [{ id: uuidFromName(`${streamId}#started`), type: SAGA_EVENTS.started, data: { saga: saga.name, id, correlationId, steps: saga.steps.map((x) => x.name), start }, metadata: { correlationId, causationId: event.id } }],
          { expectedVersion: 'no-stream' }
        )
      } catch (error) {
        if ((error as RpcError).code !== 'WrongExpectedVersion') throw error
      }
      this.reload(streamId)
      // A fault armed for "the next instance" is bound to this one.
      const armed = this.faults.filter((f) => f.saga === saga.name)
      if (armed.length) {
        this.bound.set(streamId, [...(this.bound.get(streamId) ?? []), ...armed])
        for (const f of armed) this.faults.splice(this.faults.indexOf(f), 1)
      }
      this.changed(streamId)
      this.drive(streamId)
      return
    }
    const s = this.instances.get(streamId)
    if (!s || s.phase !== 'waiting' || !s.current) return
    const step = saga.steps.find((x) => x.name === s.current)
    if (!step) return
    if (step.onSuccess.includes(event.type) || step.onFailure.includes(event.type)) {
      this.enqueue(streamId, async () => {
        const now = this.instances.get(streamId)
        if (!now || now.phase !== 'waiting' || now.current !== step.name) return
        if (step.onSuccess.includes(event.type)) await this.record(now, SAGA_EVENTS.stepCompleted, { step: step.name, by: startOf(event) })
        else await this.fail(now, saga, step.name, 'failure-event', `${event.type} in ${event.streamId}`)
      })
      this.drive(streamId)
    }
  }

  // ---------------------------------------------------------------------------------------------- driving

  private tick() {
    const now = this.clock.now()
    for (const s of this.instances.values()) {
      if ((s.phase === 'waiting' || s.phase === 'retry') && s.deadline !== null && s.deadline <= now) this.drive(s.streamId)
    }
  }

  /** Runs one instance's next moves, one at a time per instance. */
  private drive(streamId: string) {
    this.enqueue(streamId, () => this.advance(streamId))
  }

  private enqueue(streamId: string, task: () => Promise<void>) {
    const previous = this.queues.get(streamId) ?? Promise.resolve()
    const next = previous
      .then(task)
      .catch((error: unknown) => this.remember(`${streamId}: ${(error as Error).message}`))
      .finally(() => {
        if (this.queues.get(streamId) === next) this.queues.delete(streamId)
      })
    this.queues.set(streamId, next)
  }

  /** Waits until nothing is queued or following (tests, the CLI). */
  async idle(): Promise<void> {
    for (;;) {
      await this.pump()
      const queued = [...this.queues.values()]
      if (!queued.length && !this.pumping) return
      await Promise.all(queued)
    }
  }

  private async advance(streamId: string): Promise<void> {
    for (let moves = 0; moves < 100 && !this.closed && !this.paused; moves++) {
      const s = this.instances.get(streamId)
      if (!s || isFinished(s.status)) return
      const saga = this.sagas.find((x) => x.name === s.saga)
      if (!saga) return
      const now = this.clock.now()
      if (s.phase === 'send') {
        if (!s.current) {
          await this.record(s, SAGA_EVENTS.completed, {})
          continue
        }
        await this.sendStep(s, saga, s.current, s.attempt, false)
        continue
      }
      if (s.phase === 'waiting') {
        // After a restart: the commands were recorded as sent; send them again under the same keys (a repeat
        // returns the first outcome) and go on from their outcome.
        if (!this.sentHere.has(`${streamId}:${s.version}`) && s.inFlight.length) {
          await this.sendStep(s, saga, s.current!, s.attempt, true)
          continue
        }
        if (s.deadline !== null && s.deadline <= now) {
          await this.fail(s, saga, s.current!, 'timeout', `no answer within ${Math.round((saga.steps.find((x) => x.name === s.current)?.timeoutMs ?? 0) / 1000)} s`)
          continue
        }
        return
      }
      if (s.phase === 'retry') {
        if (s.deadline !== null && s.deadline > now) return
        await this.sendStep(s, saga, s.current!, s.attempt, false)
        continue
      }
      if (s.phase === 'compensation-sent') {
        await this.sendCompensation(s, saga, s.current!, true)
        continue
      }
      if (s.phase === 'compensate') {
        const next = this.nextToCompensate(s, saga)
        if (next.kind === 'done') await this.record(s, SAGA_EVENTS.aborted, { reason: s.reason ?? 'a step failed' })
        else if (next.kind === 'stuck') await this.record(s, SAGA_EVENTS.parked, { step: next.step, reason: next.reason })
        else await this.sendCompensation(s, saga, next.step, false)
        continue
      }
      return
    }
  }

  private nextToCompensate(s: InstanceState, saga: SagaDescriptor): { kind: 'done' } | { kind: 'step'; step: string } | { kind: 'stuck'; step: string; reason: string } {
    for (const name of [...s.completed].reverse()) {
      if (s.compensatedSteps.includes(name)) continue
      const step = saga.steps.find((x) => x.name === name)
      if (!step) continue
      if (step.pointOfNoReturn) return { kind: 'stuck', step: name, reason: `${s.reason ?? 'a step failed'}, after ${name}, the point of no return: what came before cannot be undone by the saga` }
      if (!step.hasCompensation) continue
      return { kind: 'step', step: name }
    }
    return { kind: 'done' }
  }

  /** Which moves were made in this process (a resend after a restart is only for moves made before it). */
  private readonly sentHere = new Set<string>()

  private faultFor(streamId: string, step: string, kinds: SagaFault['kind'][]): SagaFault | null {
    const list = this.bound.get(streamId) ?? []
    const f = list.find((x) => x.step === step && kinds.includes(x.kind))
    if (!f) return null
    list.splice(list.indexOf(f), 1)
    return f
  }

  private async commands(s: InstanceState, saga: SagaDescriptor, step: string, compensate: boolean): Promise<SagaCommand[]> {
    const { result } = await this.options.runner.call<SagaCommand[]>(
      { op: 'saga.commands', file: saga.file, exportName: saga.exportName, step, compensate, ctx: { id: s.id, start: s.start, results: s.results } },
      `${saga.name}.${step}.${compensate ? 'compensate' : 'action'}`
    )
    return result
  }

  private commandIds(s: InstanceState, kind: 'a' | 'c', step: string, attempt: number, n: number): string[] {
    return Array.from({ length: n }, (_, k) => uuidFromName(`${s.streamId}:${kind}:${step}:${attempt}:${k}`))
  }

  private async sendStep(s: InstanceState, saga: SagaDescriptor, step: string, attempt: number, resend: boolean): Promise<void> {
    const def = saga.steps.find((x) => x.name === step)!
    let commands: SagaCommand[]
    try {
      commands = await this.commands(s, saga, step, false)
    } catch (error) {
      await this.fail(s, saga, step, 'error', (error as Error).message, false)
      return
    }
    const ids = resend ? s.inFlight : this.commandIds(s, 'a', step, attempt, commands.length)
    if (!resend) {
      await this.record(s, SAGA_EVENTS.stepSent, { step, attempt, commandIds: ids, commands: commands.map((c) => `${c.decider}.${c.command}`), deadline: this.clock.now() + def.timeoutMs })
    }
    const current = this.instances.get(s.streamId)!
    this.sentHere.add(`${s.streamId}:${current.version}`)
    const fault = resend ? null : this.faultFor(s.streamId, step, ['reject', 'timeout'])
    if (fault?.kind === 'timeout') return // never sent: the deadline will pass
    if (fault?.kind === 'reject') {
      await this.fail(current, saga, step, 'rejected', 'InjectedFault: the command was rejected by an injected fault')
      return
    }
    const produced: RecordedEvent[] = []
    for (let k = 0; k < commands.length; k++) {
      const outcome = await this.sendOne(current, commands[k], ids[k], uuidFromName(`${current.streamId}#${current.version}`))
      if (outcome.outcome === 'rejected') {
        await this.fail(current, saga, step, 'rejected', `${outcome.rule}: ${outcome.message}`)
        return
      }
      produced.push(...outcome.events)
    }
    const failure = produced.find((e) => def.onFailure.includes(e.type))
    if (failure) {
      await this.fail(current, saga, step, 'failure-event', `${failure.type} in ${failure.streamId}`)
      return
    }
    const success = def.onSuccess.length ? produced.find((e) => def.onSuccess.includes(e.type)) : produced[0]
    if (success || def.onSuccess.length === 0) await this.record(current, SAGA_EVENTS.stepCompleted, { step, by: success ? startOf(success) : null })
    // Otherwise the step waits for a correlated success event, or its deadline.
  }

  /** Sends one command with the saga event that decided it as its cause, and its id as the idempotency key. */
  private async sendOne(s: InstanceState, c: SagaCommand, commandId: string, causationId: string): Promise<CommandOutcome> {
    this.ownCommands.add(commandId)
    if (this.ownCommands.size > 10_000) this.ownCommands.delete(this.ownCommands.values().next().value!)
    try {
      return await this.options.send({ decider: c.decider, command: c.command, data: c.data, commandId, idempotencyKey: commandId, correlationId: s.correlationId, causationId, now: this.clock.now() })
    } catch (error) {
      // Invalid data, an unknown decider, code that throws: the step fails like a rejection, with the reason.
      return { outcome: 'rejected', commandId, streamId: null, rule: (error as RpcError).code ?? 'Error', message: (error as Error).message, repeated: false }
    }
  }

  private async fail(s: InstanceState, saga: SagaDescriptor, step: string, reason: string, message: string, retryable = true): Promise<void> {
    const def = saga.steps.find((x) => x.name === step)!
    const retry = retryable && s.attempt <= def.retries.max
    const retryAt = retry ? this.clock.now() + def.retries.backoffMs * 2 ** (s.attempt - 1) : null
    await this.record(s, SAGA_EVENTS.stepFailed, { step, attempt: s.attempt, reason, message, retryAt })
  }

  private async sendCompensation(s: InstanceState, saga: SagaDescriptor, step: string, resend: boolean): Promise<void> {
    let commands: SagaCommand[]
    try {
      commands = await this.commands(s, saga, step, true)
    } catch (error) {
      await this.record(s, SAGA_EVENTS.parked, { step, reason: `the compensation of ${step} failed: ${(error as Error).message}` })
      return
    }
    const ids = resend ? s.inFlight : this.commandIds(s, 'c', step, 1, commands.length)
    if (!resend) await this.record(s, SAGA_EVENTS.compensationSent, { step, commandIds: ids, commands: commands.map((c) => `${c.decider}.${c.command}`) })
    const current = this.instances.get(s.streamId)!
    if (!resend && this.faultFor(s.streamId, step, ['fail-compensation'])) {
      await this.record(current, SAGA_EVENTS.parked, { step, reason: `the compensation of ${step} was rejected: InjectedFault` })
      return
    }
    for (let k = 0; k < commands.length; k++) {
      const outcome = await this.sendOne(current, commands[k], ids[k], uuidFromName(`${current.streamId}#${current.version}`))
      if (outcome.outcome === 'rejected') {
        await this.record(current, SAGA_EVENTS.parked, { step, reason: `the compensation of ${step} was rejected: ${outcome.rule}: ${outcome.message}` })
        return
      }
    }
    await this.record(current, SAGA_EVENTS.stepCompensated, { step })
  }

  /** Appends one event to the instance's saga stream at the version it was folded at, and folds it in. */
  private async record(s: InstanceState, type: string, data: Record<string, unknown>): Promise<void> {
    const at = this.clock.now()
    try {
      await this.options.store.appendToStream(
        s.streamId,
        [
          {
            id: uuidFromName(`${s.streamId}#${s.version + 1}`),
            type,
            data: { ...data, at },
            // Caused by the event that completed the step, else by the instance's previous decision.
            metadata: { correlationId: s.correlationId, causationId: (data.by as { id?: string } | null | undefined)?.id ?? uuidFromName(`${s.streamId}#${s.version}`) }
          }
        ],
        { expectedVersion: s.version }
      )
    } catch (error) {
      // Another coordinator (another process) moved the instance: go on from what it recorded.
      if ((error as RpcError).code !== 'WrongExpectedVersion') throw error
    }
    // Fold in what the stream gained (this event, or what another coordinator recorded).
    const state = this.instances.get(s.streamId)
    if (state) applyEvents(state, this.options.store.readStreamSync(s.streamId, { from: state.version + 1, limit: 10_000 }).events, [])
    else this.reload(s.streamId)
    this.changed(s.streamId)
  }

  private changed(streamId: string) {
    const s = this.instances.get(streamId)
    if (s) this.emitter.emit('instance', summary(s))
  }

  /**
   * Which sagas and instances each event belongs to. When a saga's code throws on an event (its correlate, say), the
   * batch is routed again one event and one saga at a time: that event is skipped for that saga, the error is
   * remembered with the saga, event and position, and the log is followed on (a saga whose code always throws
   * would otherwise hold every saga at that event for good).
   */
  private async routeAll(events: RecordedEvent[]): Promise<Array<Array<[number, string]>>> {
    const route = async (sagas: number[], batch: RecordedEvent[]) =>
      (
        await this.options.runner.call<Array<Array<[number, string]>>>(
          { op: 'saga.route', sagas: sagas.map((i) => ({ file: this.sagas[i].file, exportName: this.sagas[i].exportName })), events: batch },
          'routing events to sagas'
        )
      ).result.map((pairs) => pairs.map(([k, id]): [number, string] => [sagas[k], id]))
    const all = this.sagas.map((_, i) => i)
    try {
      return await route(all, events)
    } catch (error) {
      if ((error as RpcError).code !== 'UserCodeFailed' && (error as RpcError).code !== 'Timeout') throw error
    }
    const result: Array<Array<[number, string]>> = []
    for (const event of events) {
      try {
        result.push((await route(all, [event]))[0] ?? [])
        continue
      } catch (error) {
        if ((error as RpcError).code !== 'UserCodeFailed' && (error as RpcError).code !== 'Timeout') throw error
      }
      const pairs: Array<[number, string]> = []
      for (const i of all) {
        try {
          pairs.push(...((await route([i], [event]))[0] ?? []))
        } catch (error) {
          if ((error as RpcError).code !== 'UserCodeFailed' && (error as RpcError).code !== 'Timeout') throw error
          this.remember(`saga ${this.sagas[i].name} skipped ${event.type} at position ${event.position} (${event.streamId}): ${(error as Error).message}`)
        }
      }
      result.push(pairs)
    }
    return result
  }

  private remember(message: string) {
    this.errors.push(message)
    if (this.errors.length > 20) this.errors.shift()
    this.emitter.emit('errors', [...this.errors])
  }

  async close(): Promise<void> {
    this.closed = true
    for (const stop of this.stops) stop()
    this.stops = []
    await Promise.allSettled([...this.queues.values()])
    if (this.pumping) await this.pumping.catch(() => {})
  }
}

function startOf(e: RecordedEvent): StartEvent {
  return { position: e.position, streamId: e.streamId, type: e.type, id: e.id, data: e.data, metadata: e.metadata }
}
