import { z } from 'zod'
import * as workbench from './workbench-module'
import { describeProjection, lastFailedIndex, planQuery, runProjection, seedForEvent, type ProjectionDef, type RunRequest } from '../../projections/handler-runtime'

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
  body.call(undefined, record, record.exports, requireFor(file))
  modules.set(file, record)
}

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

function decider(file: string, exportName: string): Decider {
  const found = definitionsOf(file).find((d) => d.exportName === exportName)
  if (!found || found.value.kind !== 'decider') throw new Error(`${file} has no decider export '${exportName}'`)
  return found.value as unknown as Decider
}

function describe(file: string): Json {
  return definitionsOf(file).map(({ exportName, value }) => {
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
    return JSON.parse(JSON.stringify({ type: (e as NewEvent).type, data, metadata: (e as NewEvent).metadata, schemaVersion: (e as NewEvent).schemaVersion })) as NewEvent
  })
}

function validateCommand(d: Decider, command: { type: string; data: Record<string, unknown> }): { data: Record<string, unknown> } | { outcome: string; [key: string]: Json } {
  const schema = Object.hasOwn(d.commands ?? {}, command.type) ? (d.commands[command.type] as z.ZodType) : undefined
  if (!schema) return { outcome: 'unknown-command', commands: Object.keys(d.commands ?? {}) }
  const parsed = schema.safeParse(command.data)
  if (!parsed.success) return { outcome: 'invalid', issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) }
  return { data: parsed.data as Record<string, unknown> }
}


/** Folds events into state; each event sees its own recorded time as the clock and a seed from its id. */
/** The host appended what a decider decided: fold it into the kept state so the next command starts there. */
function advance(a: { file: string; exportName: string; streamId: string; fromVersion: number; events: Array<Record<string, unknown>> }) {
  const key = `${a.file}#${a.exportName}#${a.streamId}`
  const entry = commandStates.get(key)
  if (!entry || entry.version !== a.fromVersion) {
    commandStates.delete(key)
    return
  }
  const d = decider(a.file, a.exportName)
  const state = fold(d, JSON.parse(JSON.stringify(entry.state)) as unknown, a.events)
  rememberState(key, a.fromVersion + a.events.length, JSON.parse(JSON.stringify(state ?? null)) as Json)
}

function decideOn(d: Decider, command: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }, state: unknown, streamId: string, kept: Json, version: number | null): Json {
  try {
    const events = normaliseEvents(d.decide(command, state), `${d.name}.decide(${command.type})`)
    return { outcome: 'decided', streamId, version, state: kept, events: events as unknown as Json }
  } catch (error) {
    if (error instanceof workbench.RuleViolation) return { outcome: 'rejected', streamId, version, rule: error.rule, message: error.message }
    throw error
  }
}

function fold(d: Decider, state: unknown, events: Array<Record<string, unknown>>, keep?: Set<number>, kept?: Record<number, Json>): unknown {
  let s = state
  for (const event of events) {
    clock = typeof event.recordedAt === 'number' ? event.recordedAt : clock
    seed = seedForEvent(event)
    s = d.evolve(s, event as never)
    if (keep && kept && keep.has(event.version as number)) kept[event.version as number] = JSON.parse(JSON.stringify(s ?? null)) as Json
  }
  return s
}

/**
 * Folded state per stream as of a version, kept here so that a command to a stream seen before needs one crossing:
 * decide on this state, and the host checks the stream is still at that version before appending.
 */
const commandStates = new Map<string, { version: number; state: Json }>()
const MAX_COMMAND_STATES = 5000

function rememberState(key: string, version: number, state: Json) {
  commandStates.delete(key)
  commandStates.set(key, { version, state })
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
  | { op: 'projection.query'; file: string; exportName: string; query: string; input: unknown }

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
        .map((d) => describeProjection(d.value as unknown as ProjectionDef, d.exportName, toJsonSchema))
    case 'projection.run':
      return runProjection(projection(request.file, request.exportName), request, setEventClock) as unknown as Json
    case 'projection.failedAt':
      return lastFailedIndex()
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
      for (const event of request.events) {
        s = fold(d, s, [event])
        states.push(JSON.parse(JSON.stringify(s ?? null)) as Json)
      }
      return { state: s as Json, states }
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
      const parsed = { data: checked.data }
      clock = request.clock
      seed = request.seed
      const state = fold(d, request.state ?? d.initialState(), request.events)
      clock = request.clock
      const command = { type: request.command.type, data: parsed.data as Record<string, unknown>, metadata: request.command.metadata }
      const streamId = d.streamId ? d.streamId(command) : `${d.streamPrefix}-${String(command.data.id)}`
      // A copy before decide runs: decide must not be able to change what is kept.
      const kept = JSON.parse(JSON.stringify(state ?? null)) as Json
      if (request.version !== undefined) rememberState(`${request.file}#${request.exportName}#${streamId}`, request.version, kept)
      return decideOn(d, command, state, streamId, kept, request.version ?? null)
    }
    case 'decider.command': {
      // The one-crossing path: validate, find the stream, and decide on the state kept from the last command.
      for (const a of request.advances ?? []) advance(a)
      const d = decider(request.file, request.exportName)
      const checked = validateCommand(d, request.command)
      if ('outcome' in checked) return checked
      const command = { type: request.command.type, data: checked.data, metadata: request.command.metadata }
      const streamId = d.streamId ? d.streamId(command) : `${d.streamPrefix}-${String(command.data.id)}`
      const entry = commandStates.get(`${request.file}#${request.exportName}#${streamId}`)
      if (!entry) return { outcome: 'prepared', streamId }
      clock = request.clock
      seed = request.seed
      const state = JSON.parse(JSON.stringify(entry.state)) as unknown
      return decideOn(d, command, state, streamId, entry.state, entry.version)
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
