import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { EventSchema, SchemaDrift, UpcasterRegistry, UpcasterStep } from '../../../shared/contract'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useWorkspaceStore } from './workspace'

/** Buckets of the drift chart: about one a day for two months, fewer for a longer log. */
export const DRIFT_BUCKETS = 60
/** New events arrive in bursts: the shapes are read again once they settle. */
export const RELOAD_DELAY_MS = 400

export type UpcasterProblem = UpcasterRegistry['problems'][number]

/** One event type of the log, with what the panel marks: several schema versions, upcasters, refused chains. */
export interface EventTypeSummary {
  type: string
  /** The schema versions stored in the log, ascending. */
  versions: number[]
  count: number
  /** The steps that read this type (its upcasters), by version. */
  steps: UpcasterStep[]
  /** Steps of other types that rename into this one. */
  incoming: UpcasterStep[]
  problems: UpcasterProblem[]
  /** More than one schema version in the log, or an upcaster: the type has evolved. */
  evolving: boolean
}

/** The log's event types with their versions and upcasters; evolving types first, then by name. */
export function typeSummaries(schemas: EventSchema[], registry: UpcasterRegistry | null): EventTypeSummary[] {
  const byType = new Map<string, EventTypeSummary>()
  const entry = (type: string) => {
    let e = byType.get(type)
    if (!e) byType.set(type, (e = { type, versions: [], count: 0, steps: [], incoming: [], problems: [], evolving: false }))
    return e
  }
  for (const s of schemas) {
    const e = entry(s.type)
    e.versions.push(s.schemaVersion)
    e.count += s.count
  }
  for (const step of registry?.steps ?? []) {
    entry(step.eventType).steps.push(step)
    if (step.toType && step.toType !== step.eventType) entry(step.toType).incoming.push(step)
  }
  for (const p of registry?.problems ?? []) if (p.eventType) entry(p.eventType).problems.push(p)
  const list = [...byType.values()]
  for (const e of list) {
    e.versions.sort((a, b) => a - b)
    e.steps.sort((a, b) => a.fromVersion - b.fromVersion)
    e.evolving = e.versions.length > 1 || e.steps.length > 0 || e.incoming.length > 0 || e.problems.length > 0
  }
  return list.sort((a, b) => Number(b.evolving) - Number(a.evolving) || a.type.localeCompare(b.type))
}

/**
 * The Upcasters panel's view of the log: the inferred shape of every event type and schema version, the drift of
 * the selected type, and the workspace's upcaster steps with the chains the registry refuses. Follows
 * `versioning.updated` (new events) and the workspace's revision (a saved upcaster file).
 */
export const useVersioningStore = defineStore('versioning', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  const schemas = ref<EventSchema[]>([])
  const registry = ref<UpcasterRegistry | null>(null)
  const drift = ref<Record<string, SchemaDrift>>({})
  const selected = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<string | null>(null)
  const registryError = ref<string | null>(null)
  const driftError = ref<string | null>(null)
  let stops: Disposer[] = []
  let reloadTimer: ReturnType<typeof setTimeout> | undefined
  let knownRevision: string | null = null
  let request = 0

  const types = computed(() => typeSummaries(schemas.value, registry.value))
  const current = computed(() => types.value.find((t) => t.type === selected.value) ?? null)
  const currentSchemas = computed(() => schemas.value.filter((s) => s.type === selected.value).sort((a, b) => a.schemaVersion - b.schemaVersion))
  const currentDrift = computed(() => (selected.value ? drift.value[selected.value] ?? null : null))
  /** Refused chains that name no event type (a file whose upcaster lacks one): shown apart from every type. */
  const looseProblems = computed(() => (registry.value?.problems ?? []).filter((p) => !p.eventType))

  async function loadSchemas(): Promise<void> {
    const mine = ++request
    loading.value = true
    try {
      const list = await connection.rpc().versioning.schemas({})
      if (mine !== request) return
      schemas.value = list
      loaded.value = true
      error.value = null
    } catch (e) {
      if (mine === request) error.value = `Could not read the event schemas: ${describeError(e)}`
    } finally {
      if (mine === request) loading.value = false
    }
  }

  async function loadRegistry(): Promise<void> {
    try {
      registry.value = await connection.rpc().upcasters.registry()
      registryError.value = null
    } catch (e) {
      registryError.value = `Could not list the upcasters: ${describeError(e)}`
    }
  }

  async function loadDrift(type: string): Promise<void> {
    try {
      const d = await connection.rpc().versioning.drift({ type, buckets: DRIFT_BUCKETS })
      drift.value = { ...drift.value, [type]: d }
      driftError.value = null
    } catch (e) {
      if (selected.value === type) driftError.value = `Could not read the drift of ${type}: ${describeError(e)}`
    }
  }

  async function load(): Promise<void> {
    await Promise.all([loadSchemas(), loadRegistry()])
    if (selected.value) await loadDrift(selected.value)
  }

  function select(type: string | null): void {
    selected.value = type
    driftError.value = null
    if (type && !drift.value[type]) void loadDrift(type)
  }

  /** The type an upcaster file belongs to: the type of its first step, or of a problem it causes. */
  function typeOfFile(path: string): string | null {
    const step = registry.value?.steps.find((s) => s.file === path)
    if (step) return step.eventType
    return registry.value?.problems.find((p) => p.file === path && p.eventType)?.eventType ?? null
  }

  /** New events came in: read the shapes (and the drift on screen) again once they settle. */
  function onUpdated(): void {
    clearTimeout(reloadTimer)
    reloadTimer = setTimeout(() => {
      // Drift of other types is read again when they are shown.
      drift.value = selected.value && drift.value[selected.value] ? { [selected.value]: drift.value[selected.value] } : {}
      void loadSchemas()
      if (selected.value) void loadDrift(selected.value)
    }, RELOAD_DELAY_MS)
  }

  /** Reads everything and follows new events until close(). */
  async function open(): Promise<void> {
    close()
    try {
      stops = [connection.rpc().versioning.on('updated', onUpdated)]
    } catch (e) {
      error.value = describeError(e)
      return
    }
    knownRevision = revisionKey()
    await load()
  }

  function close(): void {
    for (const stop of stops) stop()
    stops = []
    clearTimeout(reloadTimer)
    reloadTimer = undefined
  }

  function revisionKey(): string | null {
    return workspace.state ? `${workspace.state.path}#${workspace.state.revision}` : null
  }

  // A saved or deleted upcaster file, trust, or another workspace: the steps may have changed (another log too).
  watch(
    () => revisionKey(),
    (key) => {
      if (stops.length === 0 || key === knownRevision) return
      const otherWorkspace = knownRevision?.split('#')[0] !== key?.split('#')[0]
      knownRevision = key
      if (otherWorkspace) {
        drift.value = {}
        void load()
      } else void loadRegistry()
    }
  )

  return {
    schemas, registry, drift, selected, loading, loaded, error, registryError, driftError, types, current, currentSchemas, currentDrift, looseProblems,
    load, loadSchemas, loadRegistry, loadDrift, select, typeOfFile, open, close
  }
})
