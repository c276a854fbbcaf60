/**
 * Upcasting inside the sandbox: the registry of the workspace's upcasters and the pipeline every reader of events
 * goes through (deciders' evolve, projection handlers, the "as read" views, export with upcasting, dry-runs).
 *
 * An upcaster turns one stored shape into the next: `{ eventType, fromVersion, toVersion, upcast(data, metadata) }`
 * returns the new data; with `toType` it also renames the event; with `split: true` it returns several events
 * (`[{ type, data, schemaVersion? }]`). Steps chain by (type, schema version) until no step applies, so v1 → v2 → v3
 * composes, and a rename continues with the new type's steps. Every step raises the version, so a chain ends.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Event = Record<string, unknown> & { type: string; schemaVersion?: number; data: Record<string, unknown> }

export interface UpcasterDef {
  kind: 'upcaster'
  eventType: string
  fromVersion: number
  toVersion: number
  toType?: string
  split?: boolean
  description?: string
  upcast: (data: Record<string, unknown>, metadata: Record<string, unknown>) => unknown
}

export interface UpcasterSource {
  file: string
  exportName: string
  value: Record<string, unknown>
}

interface Step {
  def: UpcasterDef
  file: string
  exportName: string
}

export interface RegistryProblem {
  file: string
  exportName: string
  eventType: string | null
  message: string
}

export interface Registry {
  /** Steps by `${type}@${version}`. */
  steps: Map<string, Step>
  /** The same by type, then by version (the per-event lookup, without building a key). */
  byType: Map<string, Array<Step | undefined>>
  /** Types that have at least one step (the fast test for "nothing to do"). */
  types: Set<string>
  /** Types whose chain is refused (a gap or two steps for one version): reading such an event fails with the reason. */
  broken: Map<string, string>
  problems: RegistryProblem[]
}

const { hasOwn } = Object
const { isArray } = Array
const isInt = Number.isInteger

export function buildRegistry(sources: UpcasterSource[]): Registry {
  const steps = new Map<string, Step>()
  const problems: RegistryProblem[] = []
  const broken = new Map<string, string>()
  const refuse = (s: { file: string; exportName: string }, eventType: string | null, message: string) => {
    problems.push({ file: s.file, exportName: s.exportName, eventType, message })
    if (eventType && !broken.has(eventType)) broken.set(eventType, message)
  }
  const byType = new Map<string, Step[]>()
  for (const source of sources) {
    const d = source.value as Partial<UpcasterDef>
    const where = `${source.file}${source.exportName === 'default' ? '' : ` (${source.exportName})`}`
    if (typeof d.eventType !== 'string' || d.eventType === '') {
      refuse(source, null, `${where}: an upcaster needs eventType, the stored type it reads`)
      continue
    }
    const renames = typeof d.toType === 'string' && d.toType !== d.eventType
    if (!isInt(d.fromVersion) || (d.fromVersion as number) < 1 || !isInt(d.toVersion) || (d.toVersion as number) < (d.fromVersion as number) || (!renames && d.toVersion === d.fromVersion)) {
      refuse(source, d.eventType, `${where}: ${d.eventType} needs whole versions with toVersion above fromVersion, or at least fromVersion for a rename (got ${String(d.fromVersion)} → ${String(d.toVersion)})`)
      continue
    }
    if (typeof d.upcast !== 'function') {
      refuse(source, d.eventType, `${where}: ${d.eventType} v${d.fromVersion} → v${d.toVersion} has no upcast function`)
      continue
    }
    if (d.toType !== undefined && (typeof d.toType !== 'string' || d.toType === '')) {
      refuse(source, d.eventType, `${where}: toType must be the new event type's name`)
      continue
    }
    const step: Step = { def: d as UpcasterDef, file: source.file, exportName: source.exportName }
    const key = `${d.eventType}@${d.fromVersion}`
    const other = steps.get(key)
    if (other) {
      refuse(source, d.eventType, `Two upcasters for ${d.eventType} v${d.fromVersion}: ${other.file} and ${source.file}; keep one`)
      continue
    }
    steps.set(key, step)
    const list = byType.get(d.eventType) ?? []
    list.push(step)
    byType.set(d.eventType, list)
  }
  // Within one type, each step must start where the previous one ended (unless the previous one left the type).
  for (const [type, list] of byType) {
    list.sort((a, b) => a.def.fromVersion - b.def.fromVersion)
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]
      const next = list[i]
      if (prev.def.toType !== undefined && prev.def.toType !== type) continue
      if (prev.def.split) continue
      if (prev.def.toVersion < next.def.fromVersion) {
        refuse(next, type, `${type}: no upcaster from v${prev.def.toVersion} to v${next.def.fromVersion} (a gap between ${describeStep(prev)} in ${prev.file} and ${describeStep(next)} in ${next.file})`)
      } else if (prev.def.toVersion > next.def.fromVersion) {
        refuse(next, type, `${type}: ${describeStep(prev)} in ${prev.file} skips over ${describeStep(next)} in ${next.file}; steps must not overlap`)
      }
    }
  }
  // Renames may keep the version, so a chain could come back to where it started: refuse that.
  for (const start of steps.values()) {
    const seen = new Set<string>()
    let step: Step | undefined = start
    while (step && !step.def.split) {
      const key = `${step.def.eventType}@${step.def.fromVersion}`
      if (seen.has(key)) {
        refuse(start, start.def.eventType, `${start.def.eventType} v${start.def.fromVersion}: the upcasters form a loop (${[...seen].map((k) => k.replace('@', ' v')).join(' → ')} → ${key.replace('@', ' v')})`)
        break
      }
      seen.add(key)
      step = steps.get(`${step.def.toType ?? step.def.eventType}@${step.def.toVersion}`)
    }
  }
  const index = new Map<string, Array<Step | undefined>>()
  for (const [type, list] of byType) {
    const versions: Array<Step | undefined> = []
    for (const step of list) versions[step.def.fromVersion] = step
    index.set(type, versions)
  }
  return { steps, byType: index, types: new Set(byType.keys()), broken, problems }
}

function describeStep(s: Step): string {
  return `v${s.def.fromVersion} → ${s.def.toType && s.def.toType !== s.def.eventType ? `${s.def.toType} ` : ''}v${s.def.toVersion}`
}

/** The stored types that can become one of `types` when read (for readers that select events by type). */
export function sourceTypes(registry: Registry, types: string[]): string[] {
  const out = new Set(types)
  let grew = true
  while (grew) {
    grew = false
    for (const step of registry.steps.values()) {
      if (out.has(step.def.eventType)) continue
      if (step.def.toType && out.has(step.def.toType)) {
        out.add(step.def.eventType)
        grew = true
      }
    }
  }
  return [...out]
}

/** What happened to one event in the pipeline (dry-runs count these). */
export interface UpcastTrace {
  steps: number
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !isArray(value)
}

/**
 * Appends `event` as read to `out`: unchanged (the same object) when no step applies, else the upcast event(s),
 * each marked with `upcastedFrom` (the stored type and version). Throws with the step named when an upcaster
 * throws or returns something that is not event data.
 */
export function upcastInto(registry: Registry, event: Event, out: Event[], trace?: UpcastTrace): void {
  const current = event
  let origin: Json | null = null
  for (;;) {
    const chain = registry.byType.get(current.type)
    if (chain === undefined) break
    const broken = registry.broken.get(current.type)
    if (broken) throw new Error(`Cannot read ${current.type}: ${broken}`)
    const version = typeof current.schemaVersion === 'number' ? current.schemaVersion : 1
    const step = chain[version]
    if (step === undefined) break
    if (trace) trace.steps++
    const d = step.def
    origin ??= (current.upcastedFrom as Json) ?? { type: current.type, schemaVersion: version }
    const metadata = isPlainObject(current.metadata) ? current.metadata : {}
    const result = d.upcast(current.data, metadata)
    if (result && typeof (result as { then?: unknown }).then === 'function') throw new Error(`${where(step, current.type)} returned a Promise; upcast must return the new data`)
    if (d.split) {
      if (!isArray(result)) throw new Error(`${where(step, current.type)} is a split and must return an array of { type, data }, got ${describe(result)}`)
      for (let i = 0; i < result.length; i++) {
        const part = result[i] as unknown
        if (!isPlainObject(part) || typeof part.type !== 'string' || part.type === '' || !isPlainObject(part.data)) {
          throw new Error(`${where(step, current.type)}: part ${i} of the split must be { type, data } with data an object, got ${describe(part)}`)
        }
        const schemaVersion = isInt(part.schemaVersion) ? (part.schemaVersion as number) : d.toVersion
        upcastInto(registry, { ...current, type: part.type, schemaVersion, data: part.data, upcastedFrom: origin, splitIndex: i }, out, trace)
      }
      return
    }
    if (!isPlainObject(result)) throw new Error(`${where(step, current.type)} must return the new data as an object, got ${describe(result)}`)
    // The event is changed in place (every caller hands over events parsed for this read), once marked as upcast.
    if (current.upcastedFrom === undefined) current.upcastedFrom = origin
    if (d.toType !== undefined) current.type = d.toType
    current.schemaVersion = d.toVersion
    current.data = result
  }
  out.push(current)
}

function where(step: Step, type: string): string {
  return `${step.file}: ${type} ${describeStep(step)}`
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (did upcast forget to return?)'
  if (value === null) return 'null'
  if (isArray(value)) return 'an array'
  return typeof value
}

/**
 * A list of events as read: the same array, its events upcast in place, unless a split makes more events than
 * were stored (then a new array). The events must belong to this read (parsed for it), as they are changed.
 */
export function upcastAll(registry: Registry, events: Event[]): Event[] {
  if (registry.types.size === 0) return events
  const types = registry.types
  const one: Event[] = []
  for (let i = 0; i < events.length; i++) {
    if (!types.has(events[i].type)) continue
    one.length = 0
    upcastInto(registry, events[i], one)
    if (one.length !== 1) {
      // A split: build the rest of the list anew.
      const out = events.slice(0, i)
      out.push(...one)
      for (let k = i + 1; k < events.length; k++) upcastInto(registry, events[k], out)
      return out
    }
    events[i] = one[0]
  }
  return events
}

/** The same, remembering for each event read the index of the stored event it came from (splits share one). */
export function upcastAllIndexed(registry: Registry, events: Event[]): { events: Event[]; source: number[] | null } {
  if (registry.types.size === 0) return { events, source: null }
  const out: Event[] = []
  const source: number[] = []
  for (let i = 0; i < events.length; i++) {
    const before = out.length
    upcastInto(registry, events[i], out)
    for (let k = before; k < out.length; k++) source.push(i)
  }
  return { events: out, source }
}

export function describeRegistry(registry: Registry): Json {
  return {
    steps: [...registry.steps.values()].map((s) => ({
      file: s.file,
      exportName: s.exportName,
      eventType: s.def.eventType,
      fromVersion: s.def.fromVersion,
      toVersion: s.def.toVersion,
      toType: s.def.toType ?? null,
      split: s.def.split === true,
      description: typeof s.def.description === 'string' ? s.def.description : null
    })),
    problems: registry.problems as unknown as Json
  }
}

/**
 * Where a value would not survive being stored as JSON (NaN, Infinity, undefined, a Date, a Map, a function...):
 * an upcaster's result read in memory and the same result read back from a store must be the same.
 */
export function unstableAt(value: unknown, path = 'data'): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} is ${String(value)}`
  if (isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = unstableAt(value[i], `${path}[${i}]`)
      if (at) return at
    }
    return null
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) return `${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}, not plain data`
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const at = unstableAt(v, `${path}.${k}`)
      if (at) return at
    }
    return null
  }
  return `${path} is ${value === undefined ? 'undefined' : `a ${typeof value}`}`
}

/** The top-level fields the newest version of a type has in the log: what an upcast event should look like. */
export interface ExpectedShape {
  schemaVersion: number
  fields: Record<string, { types: string[]; required: boolean }>
}

export interface DryRunRequest {
  events: Event[]
  /** Keyed by event type: the newest stored version's fields. */
  expected?: Record<string, ExpectedShape>
  samples?: number
  failures?: number
}

function jsonType(value: unknown): string {
  if (value === null) return 'null'
  if (isArray(value)) return 'array'
  const t = typeof value
  return t === 'number' ? (isInt(value) ? 'integer' : 'number') : t
}

/** Why an event as read does not look like the newest stored version of its type (empty when it does). */
export function shapeMismatches(event: Event, expected: ExpectedShape | undefined): string[] {
  if (!expected) return []
  const out: string[] = []
  const version = typeof event.schemaVersion === 'number' ? event.schemaVersion : 1
  if (version !== expected.schemaVersion) out.push(`schema version ${version}, the newest in the log is ${expected.schemaVersion}`)
  for (const [name, field] of Object.entries(expected.fields)) {
    if (field.required && !hasOwn(event.data, name)) out.push(`${name} is missing`)
  }
  for (const [name, value] of Object.entries(event.data)) {
    const field = hasOwn(expected.fields, name) ? expected.fields[name] : undefined
    if (!field) out.push(`${name} is not a field of ${event.type} v${expected.schemaVersion}`)
    else {
      const t = jsonType(value)
      if (!field.types.includes(t) && !(t === 'integer' && field.types.includes('number'))) out.push(`${name} is ${t}, expected ${field.types.join(' | ')}`)
    }
  }
  return out
}

/**
 * Runs the pipeline over stored events and counts, per stored (type, version): transformed, unchanged and failed
 * events; keeps the first failures (with the error's stack for the host to place in the user's code), a few
 * before/after samples, and the events as read that do not match the newest version of their type.
 */
export function dryRun(registry: Registry, request: DryRunRequest): Json {
  const counts: Record<string, { type: string; schemaVersion: number; transformed: number; unchanged: number; failed: number; mismatched: number }> = {}
  const failures: Json[] = []
  const samples: Json[] = []
  const mismatches: Json[] = []
  const maxSamples = request.samples ?? 5
  const maxFailures = request.failures ?? 20
  for (const event of request.events) {
    const version = typeof event.schemaVersion === 'number' ? event.schemaVersion : 1
    const key = `${event.type}@${version}`
    const c = (counts[key] ??= { type: event.type, schemaVersion: version, transformed: 0, unchanged: 0, failed: 0, mismatched: 0 })
    const before = JSON.stringify(event)
    const out: Event[] = []
    const trace = { steps: 0 }
    try {
      upcastInto(registry, JSON.parse(before) as Event, out, trace)
    } catch (error) {
      c.failed++
      if (failures.length < maxFailures) {
        const e = error as { message?: unknown; stack?: unknown }
        failures.push({ event: JSON.parse(before) as Json, message: String(e?.message ?? error), stack: typeof e?.stack === 'string' ? e.stack : '' })
      }
      continue
    }
    if (trace.steps === 0) c.unchanged++
    else c.transformed++
    let bad = false
    for (const o of out) {
      const reasons = shapeMismatches(o, request.expected?.[o.type])
      if (reasons.length) {
        bad = true
        if (mismatches.length < maxFailures) mismatches.push({ event: JSON.parse(before) as Json, after: o as unknown as Json, reasons })
      }
    }
    if (bad) c.mismatched++
    if (trace.steps > 0 && samples.length < maxSamples && !samples.some((sample) => (sample as { key: string }).key === key)) {
      samples.push({ key, before: JSON.parse(before) as Json, after: out as unknown as Json })
    }
  }
  return { counts: Object.values(counts), failures, samples, mismatches }
}
