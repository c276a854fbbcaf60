import { z } from 'zod'
import * as workbench from './workbench-module'
import { describeProjection, lastFailedIndex, planQuery, runProjection, seedForEvent, type EventTuple, type ProjectionDef, type RunRequest } from '../../projections/handler-runtime'
import { correlateEvent, describeSaga, stepCommands, type SagaContext, type SagaDef } from '../../sagas/saga-runtime'
import { buildRegistry, describeRegistry, dryRun, sourceTypes, unstableAt, upcastAll, upcastAllIndexed, type DryRunRequest, type Registry } from '../../versioning/upcast-runtime'

/**
 * Runs inside the sandbox's vm context, bundled with zod and the workbench module (the "prelude").
 * The host talks to it through one function, __esw_dispatch(request: string): string. Only strings cross.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type ModuleRecord = { exports: Record<string, unknown> }

const g = globalThis as unknown as Record<string, unknown>
const modules = new Map<string, ModuleRecord>()
const logs: string[] = []

// ---- the clock and randomness the engine controls -------------------------------------------------------
let clock = 0
let seed = 1
const RealDate = Date
function nextRandom(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
class EngineDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(clock)
    else super(...(args as [number]))
  }
  static override now(): number {
    return clock
  }
}
g.Date = EngineDate
Math.random = nextRandom

// ---- what user code may not use ---------------------------------------------------------------------------
for (const name of ['SharedArrayBuffer', 'Atomics', 'WebAssembly', 'ArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'Float16Array', 'FinalizationRegistry', 'WeakRef']) {
  delete g[name]
}
// A stack-trace hook could hand user code frames of host functions; there is none and there can be none.
Object.defineProperty(Error, 'prepareStackTrace', { value: undefined, writable: false, configurable: false })
g.console = {
  log: (...args: unknown[]) => void logs.push(args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ')),
  warn: (...args: unknown[]) => void logs.push(args.map(String).join(' ')),
  error: (...args: unknown[]) => void logs.push(args.map(String).join(' '))
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

// ---- modules ------------------------------------------------------------------------------------------------
function requireFor(file: string) {
  return (name: string) => {
    if (name === 'workbench') return workbench
    throw new Error(`${file}: only 'workbench' can be imported in a definition file, not '${name}'`)
  }
}

g.__esw_define = (file: string, body: (module: ModuleRecord, exports: Record<string, unknown>, require: (n: string) => unknown) => void) => {
  const record: ModuleRecord = { exports: {} }
  upcasters = null
  body.call(undefined, record, record.exports, requireFor(file))
  modules.set(file, record)
}

// ---- upcasting: every event handed to user code is read through the workspace's upcasters ------------------
let upcasters: Registry | null = null

function registry(): Registry {
  if (!upcasters) {
    const sources = []
    for (const file of modules.keys()) {
      for (const d of definitionsOf(file)) if (d.value.kind === 'upcaster') sources.push({ file, exportName: d.exportName, value: d.value as Record<string, unknown> })
    }
    upcasters = buildRegistry(sources)
  }
  return upcasters
}

type ReadEvent = Record<string, unknown> & { type: string; data: Record<string, unknown> }
const asRead = (events: Array<Record<string, unknown>>) => upcastAll(registry(), events as ReadEvent[]) as Array<Record<string, unknown>>
/** A projection batch's events (tuples) as read, with the stored index of each (null when nothing changed). */
function projectionEventsAsRead(tuples: EventTuple[]): { events: EventTuple[]; source: number[] | null } {
  const reg = registry()
  if (reg.types.size === 0 || !tuples.some((t) => reg.types.has(t[3]))) return { events: tuples, source: null }
  const events = tuples.map((t) => ({ position: t[0], streamId: t[1], version: t[2], type: t[3], schemaVersion: t[4], id: t[5], data: t[6], metadata: t[7], recordedAt: t[8] }) as unknown as ReadEvent)
  const read = upcastAllIndexed(reg, events)
  if (!read.source) return { events: tuples, source: null }
  return { events: read.events.map((e) => [e.position, e.streamId, e.version, e.type, e.schemaVersion, e.id, e.data, e.metadata, e.recordedAt] as unknown as EventTuple), source: read.source }
}

/** Stored index of each event a projection batch handled (splits make several of one), for naming a poison event. */
let projectionSource: number[] | null = null

// ---- definitions --------------------------------------------------------------------------------------------
type Decider = workbench.Decider<unknown>

function definitionsOf(file: string): Array<{ exportName: string; value: { kind: string; name?: string } }> {
  const record = modules.get(file)
  if (!record) throw new Error(`No module ${file} is loaded`)
  const out: Array<{ exportName: string; value: { kind: string; name?: string } }> = []
  for (const [exportName, value] of Object.entries(record.exports)) {
    if (value && typeof value === 'object' && typeof (value as { kind?: unknown }).kind === 'string') out.push({ exportName, value: value as { kind: string } })
  }
  return out
}

/** Deciders found by file and export, valid while the file's module record and that export stay the same. */
const deciderExports = new Map<string, { record: ModuleRecord; decider: Decider }>()

function decider(file: string, exportName: string): Decider {
  const key = `${file}#${exportName}`
  const seen = deciderExports.get(key)
  if (seen && seen.record === modules.get(file) && seen.record.exports[exportName] === seen.decider) return seen.decider
  const found = definitionsOf(file).find((d) => d.exportName === exportName)
  if (!found || found.value.kind !== 'decider') throw new Error(`${file} has no decider export '${exportName}'`)
  deciderExports.set(key, { record: modules.get(file)!, decider: found.value as unknown as Decider })
  return found.value as unknown as Decider
}

function describe(file: string): Json {
  return definitionsOf(file).map(({ exportName, value }) => {
    if (value.kind === 'upcaster') {
      const u = value as unknown as { eventType?: unknown; fromVersion?: unknown; toVersion?: unknown; toType?: unknown }
      return { kind: 'upcaster', exportName, name: `${String(u.eventType)} v${String(u.fromVersion)} → ${typeof u.toType === 'string' ? `${u.toType} ` : ''}v${String(u.toVersion)}` }
    }
    if (value.kind !== 'decider') return { kind: value.kind, exportName, name: value.name ?? exportName }
    const d = value as unknown as Decider
    return {
      kind: 'decider',
      exportName,
      name: String(d.name),
      streamPrefix: String(d.streamPrefix),
      description: d.description ?? null,
      snapshotEvery: typeof d.snapshotEvery === 'number' ? d.snapshotEvery : null,
      commands: Object.entries(d.commands ?? {}).map(([name, schema]) => ({
        name,
        description: (schema as z.ZodType).description ?? null,
        schema: toJsonSchema(schema as z.ZodType)
      }))
    } as Json
  })
}

function toJsonSchema(schema: z.ZodType): Json {
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any' }) as Json
  } catch (error) {
    return { description: `schema not representable: ${String(error)}` }
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`
  return out === '' ? '(root)' : out
}

interface NewEvent {
  type: string
  data: Record<string, unknown>
  metadata?: Record<string, unknown>
  schemaVersion?: number
}

function normaliseEvents(result: unknown, where: string): NewEvent[] {
  if (result && typeof (result as { then?: unknown }).then === 'function') throw new Error(`${where} returned a Promise; decide must return events`)
  const list = result === undefined || result === null ? [] : Array.isArray(result) ? result : [result]
  return list.map((e, i) => {
    if (!e || typeof e !== 'object' || typeof (e as NewEvent).type !== 'string' || !(e as NewEvent).type) {
      throw new Error(`${where} returned an event without a type at index ${i}`)
    }
    const data = (e as NewEvent).data ?? {}
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error(`${where}: event ${i} (${(e as NewEvent).type}) data must be an object`)
    // No copy: the answer is turned into JSON text right after decide returns, before any other user code runs.
    return { type: (e as NewEvent).type, data, metadata: (e as NewEvent).metadata, schemaVersion: (e as NewEvent).schemaVersion }
  })
}

function validateCommand(d: Decider, command: { type: string; data: Record<string, unknown> }): { data: Record<string, unknown> } | { outcome: string; [key: string]: Json } {
  const schema = Object.hasOwn(d.commands ?? {}, command.type) ? (d.commands[command.type] as z.ZodType) : undefined
  if (!schema) return { outcome: 'unknown-command', commands: Object.keys(d.commands ?? {}) }
  const parsed = schema.safeParse(command.data)
  if (!parsed.success) return { outcome: 'invalid', issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) }
  return { data: parsed.data as Record<string, unknown> }
}


/** The host appended what a decider decided: fold it into the kept state so the next command starts there. */
function advance(a: { file: string; exportName: string; streamId: string; fromVersion: number; events: Array<Record<string, unknown>> }) {
  const key = `${a.file}#${a.exportName}#${a.streamId}`
  const entry = commandStates.get(key)
  if (!entry || entry.version !== a.fromVersion) {
    commandStates.delete(key)
    return
  }
  const d = decider(a.file, a.exportName)
  const state = fold(d, JSON.parse(entry.text) as unknown, a.events)
  rememberState(key, a.fromVersion + a.events.length, JSON.stringify(state ?? null))
}

/**
 * Calls decide at the command's clock and seed. The answer carries the state decided on (`kept`, taken before
 * decide ran) when the host should cache it; without it the host keeps what it had.
 */
function decideOn(
  d: Decider,
  command: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> },
  state: unknown,
  at: { clock: number; seed: number },
  streamId: string,
  kept: Json | undefined,
  version: number | null
): Json {
  clock = at.clock
  seed = at.seed
  try {
    const events = normaliseEvents(d.decide(command, state), `${d.name}.decide(${command.type})`)
    return kept === undefined ? { outcome: 'decided', streamId, version, events: events as unknown as Json } : { outcome: 'decided', streamId, version, state: kept, events: events as unknown as Json }
  } catch (error) {
    if (error instanceof workbench.RuleViolation) return { outcome: 'rejected', streamId, version, rule: error.rule, message: error.message }
    throw error
  }
}

function fold(d: Decider, state: unknown, events: Array<Record<string, unknown>>, keep?: Set<number>, kept?: Record<number, Json>): unknown {
  let s = state
  for (const event of asRead(events)) {
    clock = typeof event.recordedAt === 'number' ? event.recordedAt : clock
    seed = seedForEvent(event)
    s = d.evolve(s, event as never)
    if (keep && kept && keep.has(event.version as number)) kept[event.version as number] = JSON.parse(JSON.stringify(s ?? null)) as Json
  }
  return s
}

/**
 * Folded state per stream as of a version (as JSON text: each use parses a fresh copy that decide may change),
 * kept here so that a command needs one crossing: decide on this state, or on the initial state as version 0 for a
 * stream not seen yet, and the host checks the stream is still at that version before appending.
 */
const commandStates = new Map<string, { version: number; text: string }>()
const MAX_COMMAND_STATES = 5000

function rememberState(key: string, version: number, text: string) {
  commandStates.delete(key)
  commandStates.set(key, { version, text })
  if (commandStates.size > MAX_COMMAND_STATES) commandStates.delete(commandStates.keys().next().value!)
}

type Request =
  | { op: 'describe'; file: string }
  | {
      op: 'decider.command'
      file: string
      exportName: string
      command: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }
      clock: number
      seed: number
      /** Appends made since the last command, to fold into kept states first (no crossing of their own). */
      advances?: Array<{ file: string; exportName: string; streamId: string; fromVersion: number; events: Array<Record<string, unknown>> }>
    }
  | { op: 'decider.initial'; file: string; exportName: string }
  | { op: 'decider.fold'; file: string; exportName: string; state: Json | null; events: Array<Record<string, unknown>>; steps?: boolean; keep?: number[] }
  | {
      op: 'decider.handle'
      file: string
      exportName: string
      command: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }
      state: Json | null
      events: Array<Record<string, unknown>>
      clock: number
      seed: number
      /** The stream version the folded events reach; when given, the state is kept for the next command. */
      version?: number
    }
  | { op: 'decider.foldMany'; file: string; exportName: string; streams: Array<{ state: Json | null; events: Array<Record<string, unknown>> }>; states?: boolean }
  | { op: 'projection.describe'; file: string }
  | ({ op: 'projection.run'; file: string; exportName: string } & RunRequest)
  | { op: 'projection.failedAt' }
  | { op: 'upcast.registry' }
  | { op: 'saga.describe'; file: string }
  | { op: 'saga.route'; sagas: Array<{ file: string; exportName: string }>; events: Array<Record<string, unknown>> }
  | { op: 'saga.commands'; file: string; exportName: string; step: string; compensate: boolean; ctx: Json }
  | { op: 'upcast.apply'; events: Array<Record<string, unknown>>; stable?: boolean }
  | ({ op: 'upcast.dryRun' } & Record<string, unknown>)
  | { op: 'projection.query'; file: string; exportName: string; query: string; input: unknown }

function saga(file: string, exportName: string): SagaDef {
  const found = definitionsOf(file).find((d) => d.exportName === exportName)
  if (!found || found.value.kind !== 'saga') throw new Error(`${file} has no saga export '${exportName}'`)
  return found.value as unknown as SagaDef
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

function projection(file: string, exportName: string): ProjectionDef {
  const found = definitionsOf(file).find((d) => d.exportName === exportName)
  if (!found || found.value.kind !== 'projection') throw new Error(`${file} has no projection export '${exportName}'`)
  return found.value as unknown as ProjectionDef
}

function setEventClock(event: Record<string, unknown>) {
  clock = typeof event.recordedAt === 'number' ? event.recordedAt : clock
  seed = seedForEvent(event)
}

function handle(request: Request): Json {
  switch (request.op) {
    case 'projection.describe':
      return definitionsOf(request.file)
        .filter((d) => d.value.kind === 'projection')
        .map((d) => {
          const described = describeProjection(d.value as unknown as ProjectionDef, d.exportName, toJsonSchema) as { handles: string[]; from: unknown }
          const from = described.from as { eventTypes?: string[] }
          const selected = from && typeof from === 'object' && Array.isArray(from.eventTypes) ? from.eventTypes.filter((t) => described.handles.includes(t)) : described.handles
          // The stored types the host must select: the handled ones and those an upcaster renames into them.
          return { ...described, reads: sourceTypes(registry(), selected) } as Json
        })
    case 'projection.run': {
      const read = projectionEventsAsRead(request.events)
      projectionSource = read.source
      const answer = runProjection(projection(request.file, request.exportName), { ...request, events: read.events }, setEventClock)
      // Writes name the event that made them by its index in the batch: map it back to the stored event.
      if (read.source && answer.outcome === 'done') for (const w of answer.writes) w[1] = read.source[w[1] as number]
      return answer as unknown as Json
    }
    case 'projection.failedAt': {
      const index = lastFailedIndex()
      return projectionSource && index >= 0 ? (projectionSource[index] ?? index) : index
    }
    case 'saga.describe':
      return definitionsOf(request.file)
        .filter((d) => d.value.kind === 'saga')
        .map((d) => describeSaga(d.value as unknown as SagaDef, d.exportName))
    case 'saga.route': {
      // For each event, the sagas (by index) and instances it belongs to: the starting events and step events.
      const defs = request.sagas.map((x) => saga(x.file, x.exportName))
      const types = defs.map((d) => new Set([...asList(d.startedBy), ...d.steps.flatMap((st) => [...asList(st.onSuccess), ...asList(st.onFailure)])]))
      return asRead(request.events).map((event) => {
        const out: Json[] = []
        defs.forEach((d, i) => {
          if (!types[i].has(event.type as string)) return
          const id = correlateEvent(d, event as never)
          if (id !== null) out.push([i, id])
        })
        return out
      })
    }
    case 'saga.commands': {
      const d = saga(request.file, request.exportName)
      const ctx = request.ctx as unknown as SagaContext
      clock = typeof ctx.start?.recordedAt === 'number' ? (ctx.start.recordedAt as number) : clock
      return stepCommands(d, request.step, request.compensate, ctx) as unknown as Json
    }
    case 'upcast.registry':
      return describeRegistry(registry())
    case 'upcast.apply': {
      // The events as every reader sees them (the stream browser's "as read" view, export with upcasting).
      const read = upcastAll(registry(), request.events as ReadEvent[])
      if (!request.stable) return read as unknown as Json
      // A migration stores these: each must come back from the store as the readers saw it.
      const unstable: Json[] = []
      for (const e of read) {
        const at = e.upcastedFrom ? unstableAt(e.data) : null
        if (at) unstable.push({ position: e.position as number, streamId: e.streamId as string, type: e.type, reason: at })
      }
      return { events: read as unknown as Json, unstable }
    }
    case 'upcast.dryRun':
      return dryRun(registry(), request as unknown as DryRunRequest)
    case 'projection.query':
      return planQuery(projection(request.file, request.exportName), request.query, request.input, formatPath)
    case 'describe':
      return describe(request.file)
    case 'decider.initial':
      return decider(request.file, request.exportName).initialState() as Json
    case 'decider.fold': {
      const d = decider(request.file, request.exportName)
      const start = request.state ?? (d.initialState() as Json)
      if (!request.steps) {
        const kept: Record<number, Json> = {}
        const state = fold(d, start, request.events, request.keep ? new Set(request.keep) : undefined, kept)
        return { state: JSON.parse(JSON.stringify(state ?? null)) as Json, kept }
      }
      let s: unknown = start
      const states: Json[] = []
      // For each stored event the upcasters changed, the event(s) evolve saw instead.
      const read: Record<number, Json> = {}
      request.events.forEach((event, i) => {
        const asReadEvents = asRead([event])
        if (asReadEvents.length !== 1 || asReadEvents[0].upcastedFrom !== undefined) read[i] = asReadEvents as unknown as Json
        s = fold(d, s, asReadEvents)
        states.push(JSON.parse(JSON.stringify(s ?? null)) as Json)
      })
      return { state: s as Json, states, read }
    }
    case 'decider.foldMany': {
      // Many streams in one call: a whole-log replay pays for one crossing per batch, not per stream.
      const d = decider(request.file, request.exportName)
      if (request.states === false) {
        // A replay that only needs to know every stream folds: no states to copy back.
        for (const s of request.streams) fold(d, s.state ?? d.initialState(), s.events)
        return request.streams.length
      }
      return request.streams.map((s) => JSON.parse(JSON.stringify(fold(d, s.state ?? d.initialState(), s.events) ?? null)) as Json)
    }
    case 'decider.handle': {
      const d = decider(request.file, request.exportName)
      const checked = validateCommand(d, request.command)
      if ('outcome' in checked) return checked
      clock = request.clock
      seed = request.seed
      const state = fold(d, request.state ?? d.initialState(), request.events)
      clock = request.clock
      const command = { type: request.command.type, data: checked.data, metadata: request.command.metadata }
      const streamId = d.streamId ? d.streamId(command) : `${d.streamPrefix}-${String(command.data.id)}`
      // Taken before decide runs: decide must not be able to change what is kept.
      const kept = JSON.stringify(state ?? null)
      if (request.version !== undefined) rememberState(`${request.file}#${request.exportName}#${streamId}`, request.version, kept)
      return decideOn(d, command, state, request, streamId, JSON.parse(kept) as Json, request.version ?? null)
    }
    case 'decider.command': {
      // The one-crossing path: validate, find the stream, and decide on the state kept from the last command, or
      // on the initial state as version 0 when this context has kept none (the host checks the version).
      for (const a of request.advances ?? []) advance(a)
      const d = decider(request.file, request.exportName)
      const checked = validateCommand(d, request.command)
      if ('outcome' in checked) return checked
      const command = { type: request.command.type, data: checked.data, metadata: request.command.metadata }
      const streamId = d.streamId ? d.streamId(command) : `${d.streamPrefix}-${String(command.data.id)}`
      const key = `${request.file}#${request.exportName}#${streamId}`
      let entry = commandStates.get(key)
      if (!entry) {
        clock = request.clock
        seed = request.seed
        entry = { version: 0, text: JSON.stringify(d.initialState() ?? null) }
        rememberState(key, 0, entry.text)
      }
      return decideOn(d, command, JSON.parse(entry.text) as unknown, request, streamId, undefined, entry.version)
    }

  }
}

g.__esw_dispatch = (text: string): string => {
  logs.length = 0
  try {
    const result = handle(JSON.parse(text) as Request)
    return JSON.stringify({ ok: true, result, logs })
  } catch (error) {
    const e = error as { name?: unknown; message?: unknown; stack?: unknown }
    let described: { name: string; message: string; stack: string }
    try {
      described = { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error), stack: typeof e?.stack === 'string' ? e.stack : '' }
    } catch {
      described = { name: 'Error', message: 'user code threw a value that cannot be described', stack: '' }
    }
    return JSON.stringify({ ok: false, error: described, logs })
  }
}
