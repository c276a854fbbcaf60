import { randomUUID } from 'node:crypto'
import type { CommandOutcome, DeciderInfo } from '../../shared/contract/commands'
import type { AppendResult, ExpectedVersion, NewEvent, RecordedEvent } from '../../shared/model/events'
import { RpcError } from '../../shared/rpc/errors'
import type { SqliteEventStore } from '../store/sqlite-store'
import { readStreamEvents, readStreamEventsJson } from '../replay/read-path'
import { seedOf } from '../sandbox/runtime/seed'
import { uuidFromName } from '../store/uuid'
import { CommandLog } from './command-log'
import type { CodeRunner } from './runner'

export type Appender = (streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }) => Promise<AppendResult>

export interface DeciderHandle extends DeciderInfo {
  exportName: string
  /** Take a snapshot every N events when replaying (the decider's own setting). */
  snapshotEvery?: number | null
}

export interface SendCommand {
  decider: string
  command: string
  data: Record<string, unknown>
  commandId?: string
  correlationId?: string
  causationId?: string
  idempotencyKey?: string
  /** The engine clock for decide (recordedAt comes from the store's clock). */
  now?: number
}

type HandleAnswer =
  | { outcome: 'unknown-command'; commands: string[] }
  | { outcome: 'invalid'; issues: Array<{ path: string; message: string }> }
  | { outcome: 'rejected'; streamId: string; version: number | null; rule: string; message: string }
  | {
      outcome: 'decided'
      streamId: string
      /** The stream version the decision was made at (null when the bus folded the events itself). */
      version: number | null
      /** The state decided on, for the bus's cache; absent when the sandbox decided on state it kept itself. */
      state?: unknown
      events: Array<{ type: string; data: Record<string, unknown>; metadata?: Record<string, unknown>; schemaVersion?: number }>
    }

interface CachedState {
  version: number
  state: unknown
}

/** An append the sandbox has not been told about, also as JSON text for runners that take requests as text. */
interface Advance {
  file: string
  exportName: string
  streamId: string
  fromVersion: number
  events: RecordedEvent[]
  text: string
}

const MAX_RETRIES = 5
const STATE_CACHE_SIZE = 10_000

/**
 * The write side: validate the command against its schema, load the stream, fold evolve, call decide, append
 * with the loaded version as expected version (retrying a bounded number of times on a conflict). Events carry
 * the command's correlation and causation ids. A command with an idempotency key that was seen before returns
 * the first outcome.
 */
export class CommandBus {
  private readonly log: CommandLog
  /** Folded state per stream, so a command folds only the events it has not seen. Cleared when code changes. */
  private readonly states = new Map<string, CachedState>()
  /** Appends the sandbox has not been told about yet; they ride along with the next command. */
  private readonly advances: Advance[] = []

  constructor(
    private readonly store: SqliteEventStore,
    private readonly runner: CodeRunner,
    private deciders: DeciderHandle[],
    /** How decided events are stored (the workspace routes them through its inline projections). */
    private readonly append: Appender = (streamId, events, options) => store.appendToStream(streamId, events, options)
  ) {
    this.log = new CommandLog(store.db)
  }

  setDeciders(deciders: DeciderHandle[]): void {
    this.deciders = deciders
    this.states.clear()
    this.advances.length = 0
  }

  list(): DeciderHandle[] {
    return this.deciders
  }

  async send(input: SendCommand): Promise<CommandOutcome> {
    if (input.idempotencyKey) {
      const previous = this.log.find(input.idempotencyKey)
      if (previous) return { ...previous, repeated: true }
    }
    const decider = this.deciders.find((d) => d.name === input.decider)
    if (!decider) {
      throw new RpcError('NotFound', `No decider named ${input.decider}; the workspace has ${this.deciders.map((d) => d.name).join(', ') || 'none'}`, {
        field: 'decider'
      })
    }
    const commandId = input.commandId ?? randomUUID()
    const metadata = {
      commandId,
      correlationId: input.correlationId ?? commandId,
      causationId: commandId,
      ...(input.causationId ? { commandCausationId: input.causationId } : {}),
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {})
    }
    const where = `${decider.name}.${input.command}`
    const command = { type: input.command, data: input.data, metadata }

    // One crossing when the sandbox decided on state it kept (or on the initial state, for a stream it has not seen)
    // at the stream's current version; otherwise load what is new and fold it (a second crossing).
    const now = input.now ?? Date.now()
    const request = { op: 'decider.command', file: decider.file, exportName: decider.exportName, command, clock: now, seed: seedOf(commandId) }
    const advances = this.advances.splice(0)
    const first = (
      this.runner.callText
        ? // The stored events go in as the store's own JSON text, not stringified again.
          await this.runner.callText<HandleAnswer>(`${JSON.stringify(request).slice(0, -1)},"advances":[${advances.map((a) => a.text).join(',')}]}`, where)
        : await this.runner.call<HandleAnswer>({ ...request, advances }, where)
    ).result
    if (first.outcome !== 'decided' && first.outcome !== 'rejected') this.throwInvalid(first, decider, input)
    const streamId = first.streamId
    let answer: HandleAnswer | null = first.version === this.store.streamVersion(streamId) ? first : null
    for (let attempt = 0; ; attempt++) {
      if (!answer) {
        const cached = this.states.get(streamId)
        const loaded = this.loadSince(streamId, cached?.version ?? 0)
        answer = await this.handle(decider, command, cached ? cached.state : null, loaded.events, loaded.version, input, where)
      }
      if (answer.outcome === 'rejected') {
        const outcome: CommandOutcome = { outcome: 'rejected', commandId, streamId, rule: answer.rule, message: answer.message, repeated: false }
        if (input.idempotencyKey) this.log.remember(input.idempotencyKey, outcome)
        return outcome
      }
      if (answer.outcome !== 'decided') this.throwInvalid(answer, decider, input)
      const version = answer.version ?? 0
      if (answer.state !== undefined) this.remember(streamId, { version, state: answer.state })
      if (answer.events.length === 0) {
        const outcome: CommandOutcome = { outcome: 'accepted', commandId, streamId, events: [], repeated: false }
        if (input.idempotencyKey) this.log.remember(input.idempotencyKey, outcome)
        return outcome
      }
      try {
        const result = await this.append(
          streamId,
          answer.events.map((e, i) => ({ id: uuidFromName(`${commandId}#${i}`), type: e.type, data: e.data, schemaVersion: e.schemaVersion, metadata: { ...e.metadata, ...metadata, commandType: `${decider.name}.${input.command}` } })),
          { expectedVersion: version }
        )
        // What was stored (or, for a command sent again, stored the first time), read by stream version.
        const { json } = readStreamEventsJson(this.store, streamId, result.nextExpectedVersion - answer.events.length + 1, result.nextExpectedVersion)
        const stored = JSON.parse(json) as RecordedEvent[]
        // The sandbox moves its kept state past this append with the next command it gets.
        const text = `{"file":${JSON.stringify(decider.file)},"exportName":${JSON.stringify(decider.exportName)},"streamId":${JSON.stringify(streamId)},"fromVersion":${version},"events":${json}}`
        this.advances.push({ file: decider.file, exportName: decider.exportName, streamId, fromVersion: version, events: stored, text })
        if (this.advances.length > 100) this.advances.splice(0, this.advances.length - 100)
        const outcome: CommandOutcome = { outcome: 'accepted', commandId, streamId, events: stored, repeated: false }
        if (input.idempotencyKey) this.log.remember(input.idempotencyKey, outcome)
        return outcome
      } catch (error) {
        if ((error as RpcError).code !== 'WrongExpectedVersion' || attempt >= MAX_RETRIES) throw error
        this.states.delete(streamId)
        answer = null
      }
    }
  }

  private remember(streamId: string, entry: CachedState) {
    if (this.states.size >= STATE_CACHE_SIZE) this.states.delete(this.states.keys().next().value!)
    this.states.set(streamId, entry)
  }

  /** What is new in a stream since a version, through replay's one read path (upcasting will slot in there). */
  private loadSince(streamId: string, after: number): { events: RecordedEvent[]; version: number } {
    const version = this.store.streamVersion(streamId)
    return { events: readStreamEvents(this.store, streamId, after + 1, version), version }
  }

  private async handle(decider: DeciderHandle, command: object, state: unknown, events: RecordedEvent[], version: number, input: SendCommand, where: string): Promise<HandleAnswer> {
    const now = input.now ?? Date.now()
    const { result } = await this.runner.call<HandleAnswer>(
      { op: 'decider.handle', file: decider.file, exportName: decider.exportName, command, state: state ?? null, events, version, clock: now, seed: seedOf(`${(command as { metadata: { commandId: string } }).metadata.commandId}`) },
      where
    )
    return result.outcome === 'decided' || result.outcome === 'rejected' ? { ...result, version } : result
  }

  private throwInvalid(answer: HandleAnswer, decider: DeciderHandle, input: SendCommand): never {
    if (answer.outcome === 'unknown-command') {
      throw new RpcError('InvalidInput', `Decider ${decider.name} has no command ${input.command}; it has ${answer.commands.join(', ')}`, { field: 'command' })
    }
    if (answer.outcome === 'invalid') {
      const text = answer.issues.map((i) => `${i.path}: ${i.message}`).join('; ')
      throw new RpcError('InvalidInput', `Invalid ${input.command} command: ${text}`, { issues: answer.issues })
    }
    throw new RpcError('Internal', `Unexpected answer from ${decider.name}`)
  }
}
