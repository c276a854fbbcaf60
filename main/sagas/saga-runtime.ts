/**
 * Sagas inside the sandbox: their description, which instance an event belongs to, and the commands a step's action
 * or compensation sends. The coordinator (on the host) keeps every instance's state in its own saga stream and
 * decides what happens next; user code only answers these questions, with JSON in and out.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Event = { type: string; data: Record<string, unknown>; metadata?: Record<string, unknown> | null; [key: string]: unknown }

export interface SagaCommand {
  decider: string
  command: string
  data: Record<string, unknown>
}

/** What an action and a compensation are given: the instance, the event that started it, the completed steps' events. */
export interface SagaContext {
  id: string
  start: Event
  results: Record<string, Event | null>
}

export interface SagaStepDef {
  name: string
  description?: string
  action: (ctx: SagaContext) => SagaCommand | SagaCommand[]
  onSuccess?: string | string[]
  onFailure?: string | string[]
  compensate?: (ctx: SagaContext) => SagaCommand | SagaCommand[]
  /** How long the step may take: milliseconds or '30s', '5m', '2h', '1d'. */
  timeout?: number | string
  retries?: { max: number; backoff?: number | string }
  /** The step cannot be undone: it needs no compensation, and nothing before it is compensated once it completed. */
  pointOfNoReturn?: boolean
}

export interface SagaDef {
  kind: 'saga'
  name: string
  description?: string
  startedBy: string | string[]
  correlate?: (event: Event) => unknown
  steps: SagaStepDef[]
}

const { isArray } = Array
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : isArray(v) ? v.map(String) : [String(v)])
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds from a number or a duration like '90s', '5m', '1h'. */
export function durationMs(value: number | string | undefined, fallback: number, where: string): number {
  if (value === undefined) return fallback
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim()) : null
  if (!m) throw new Error(`${where}: a duration is milliseconds or a text like '30s', '5m', '2h', '1d', not ${JSON.stringify(value)}`)
  return Math.round(Number(m[1]) * units[m[2]])
}

const DEFAULT_TIMEOUT = 5 * 60_000

export function describeSaga(def: SagaDef, exportName: string): Json {
  const name = String(def.name ?? exportName)
  if (!isArray(def.steps) || def.steps.length === 0) throw new Error(`Saga ${name} has no steps`)
  const seen = new Set<string>()
  const steps = def.steps.map((s, i) => {
    const where = `Saga ${name}, step ${i + 1}${s?.name ? ` (${s.name})` : ''}`
    if (!s || typeof s.name !== 'string' || s.name === '') throw new Error(`${where}: a step needs a name`)
    if (seen.has(s.name)) throw new Error(`${where}: two steps are named ${s.name}`)
    seen.add(s.name)
    if (typeof s.action !== 'function') throw new Error(`${where}: a step needs an action that returns the command to send`)
    if (s.compensate !== undefined && typeof s.compensate !== 'function') throw new Error(`${where}: compensate must be a function that returns the command to send`)
    const retries = s.retries ? { max: Math.max(0, Math.floor(Number(s.retries.max) || 0)), backoffMs: durationMs(s.retries.backoff, 1000, where) } : { max: 0, backoffMs: 0 }
    return {
      name: s.name,
      description: s.description ?? null,
      onSuccess: list(s.onSuccess),
      onFailure: list(s.onFailure),
      hasCompensation: typeof s.compensate === 'function',
      pointOfNoReturn: s.pointOfNoReturn === true,
      timeoutMs: durationMs(s.timeout, DEFAULT_TIMEOUT, where),
      retries
    }
  })
  const startedBy = list(def.startedBy)
  if (startedBy.length === 0) throw new Error(`Saga ${name} needs startedBy: the event type(s) that start an instance`)
  return { kind: 'saga', exportName, name, description: def.description ?? null, startedBy, steps } as unknown as Json
}

/** The instance an event belongs to: `correlate(event)`, or the event's correlation id. */
export function correlateEvent(def: SagaDef, event: Event): string | null {
  const value = typeof def.correlate === 'function' ? def.correlate(event) : (event.metadata as { correlationId?: unknown } | null | undefined)?.correlationId
  if (value === undefined || value === null || value === '') return null
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`Saga ${def.name}: correlate must return a string or number, got ${typeof value}`)
  return String(value)
}

function checkCommands(value: unknown, where: string): SagaCommand[] {
  if (value && typeof (value as { then?: unknown }).then === 'function') throw new Error(`${where} returned a Promise; return the command to send`)
  const commands = isArray(value) ? value : [value]
  return commands.map((c, i) => {
    const cmd = c as Partial<SagaCommand>
    if (!cmd || typeof cmd !== 'object' || typeof cmd.decider !== 'string' || typeof cmd.command !== 'string' || !cmd.data || typeof cmd.data !== 'object' || isArray(cmd.data)) {
      throw new Error(`${where}: command ${i} must be { decider, command, data }`)
    }
    return JSON.parse(JSON.stringify({ decider: cmd.decider, command: cmd.command, data: cmd.data })) as SagaCommand
  })
}

/** The commands a step's action (or its compensation) sends for an instance. */
export function stepCommands(def: SagaDef, step: string, compensate: boolean, ctx: SagaContext): SagaCommand[] {
  const s = def.steps.find((x) => x.name === step)
  if (!s) throw new Error(`Saga ${def.name} has no step ${step}`)
  const fn = compensate ? s.compensate : s.action
  if (typeof fn !== 'function') return []
  return checkCommands(fn(ctx), `${def.name}.${step}.${compensate ? 'compensate' : 'action'}`)
}
