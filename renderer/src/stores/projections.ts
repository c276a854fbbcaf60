import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { ProjectionDescriptor, ProjectionStatus } from '../../../shared/contract'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { useWorkspaceStore } from './workspace'

/** How many throughput samples the live chart keeps (one a second: the last minute). */
export const SAMPLES = 60
export const SAMPLE_EVERY_MS = 1000

export type ProjectionAction = 'rebuild' | 'pause' | 'resume' | 'reset' | 'retry' | 'skip' | 'cancel'

/** What one sample counts: the live position, or how far a running job has got (a rebuild does not move the live one). */
function counter(s: ProjectionStatus): { kind: string; value: number } {
  return s.job ? { kind: `job:${s.job.kind}`, value: s.job.done } : { kind: 'live', value: s.position }
}

/** Events per second between two readings of the same counter; 0 when the counter changed meaning or went back. */
export function measuredRate(before: { at: number; kind: string; value: number } | undefined, now: { at: number; kind: string; value: number }): number {
  if (!before || before.kind !== now.kind || now.at <= before.at || now.value < before.value) return 0
  return ((now.value - before.value) * 1000) / (now.at - before.at)
}

/** Appends a sample, keeping the last `SAMPLES`. */
export function pushSample(samples: number[] | undefined, value: number): number[] {
  const next = [...(samples ?? []), value]
  return next.length > SAMPLES ? next.slice(next.length - SAMPLES) : next
}

/** A status event with the progress events seen since folded in: progress is newer for the job's counts. */
export function withProgress(status: ProjectionStatus, progress: { kind: string; done: number; total: number | null } | undefined): ProjectionStatus {
  if (!status.job || !progress || progress.kind !== status.job.kind || progress.done < status.job.done) return status
  return { ...status, job: { ...status.job, kind: progress.kind, done: progress.done, total: progress.total } }
}

/**
 * The workspace's projections: status, position, lag and throughput of each (followed through `projections.status`
 * and `projections.progress`), a throughput sample a second for the live chart, and the lifecycle actions.
 */
export const useProjectionsStore = defineStore('projections', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  const statuses = ref<ProjectionStatus[]>([])
  const descriptors = ref<Record<string, ProjectionDescriptor>>({})
  const samples = ref<Record<string, number[]>>({})
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<string | null>(null)
  /** The action in flight per projection. */
  const busy = ref<Record<string, ProjectionAction>>({})
  const actionError = ref<{ projection: string; message: string } | null>(null)
  const selected = ref<string | null>(null)
  let stops: Disposer[] = []
  let timer: ReturnType<typeof setInterval> | undefined
  let knownRevision: string | null = null
  const progress = new Map<string, { kind: string; done: number; total: number | null }>()
  const lastReading = new Map<string, { at: number; kind: string; value: number }>()

  const byName = computed(() => Object.fromEntries(statuses.value.map((s) => [s.name, s])) as Record<string, ProjectionStatus>)
  const current = computed(() => (selected.value ? byName.value[selected.value] ?? null : null))
  const currentDescriptor = computed(() => (selected.value ? descriptors.value[selected.value] ?? null : null))

  function apply(status: ProjectionStatus): void {
    const next = withProgress(status, progress.get(status.name))
    if (!status.job) progress.delete(status.name)
    const i = statuses.value.findIndex((s) => s.name === status.name)
    if (i < 0) statuses.value = [...statuses.value, next].sort((a, b) => a.name.localeCompare(b.name))
    else statuses.value = statuses.value.map((s, n) => (n === i ? next : s))
  }

  function onProgress(p: { projection: string; kind: string; done: number; total: number | null }): void {
    progress.set(p.projection, { kind: p.kind, done: p.done, total: p.total })
    const s = byName.value[p.projection]
    if (s) apply({ ...s, job: s.job && s.job.kind === p.kind ? s.job : { kind: p.kind, done: p.done, total: p.total, paused: false } })
  }

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const list = await connection.rpc().projections.list()
      statuses.value = [...list].sort((a, b) => a.name.localeCompare(b.name)).map((s) => withProgress(s, progress.get(s.name)))
      loaded.value = true
      // New code: the descriptors (tables, queries) may have changed. Those in use are read again; the old ones show meanwhile.
      const known = Object.keys(descriptors.value).filter((name) => list.some((s) => s.name === name))
      descriptors.value = Object.fromEntries(known.map((name) => [name, descriptors.value[name]]))
      for (const name of known) void describe(name, true)
    } catch (e) {
      error.value = `Could not list the projections: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  /** A projection's definition (tables, keys, indexes, queries), read once per code revision. */
  async function describe(name: string, again = false): Promise<ProjectionDescriptor | null> {
    const known = descriptors.value[name]
    if (known && !again) return known
    try {
      const { descriptor, status } = await connection.rpc().projections.describe({ projection: name })
      descriptors.value = { ...descriptors.value, [name]: descriptor }
      apply(status)
      return descriptor
    } catch (e) {
      error.value = `Could not read projection ${name}: ${describeError(e)}`
      return null
    }
  }

  /** Takes one throughput sample of every projection (the view's timer calls it every second). */
  function sample(at = Date.now()): void {
    const next: Record<string, number[]> = {}
    for (const s of statuses.value) {
      const reading = { at, ...counter(s) }
      next[s.name] = pushSample(samples.value[s.name], measuredRate(lastReading.get(s.name), reading))
      lastReading.set(s.name, reading)
    }
    samples.value = next
  }

  async function act(name: string, action: ProjectionAction): Promise<boolean> {
    if (busy.value[name]) return false
    busy.value = { ...busy.value, [name]: action }
    actionError.value = null
    try {
      apply(await connection.rpc().projections[action]({ projection: name }))
      return true
    } catch (e) {
      actionError.value = { projection: name, message: `Could not ${action} ${name}: ${describeError(e)}` }
      return false
    } finally {
      const { [name]: _done, ...rest } = busy.value
      busy.value = rest
    }
  }

  function select(name: string | null): void {
    selected.value = name
    if (name) void describe(name)
  }

  /** Lists the projections and follows their status until close(); samples throughput once a second. */
  async function open(): Promise<void> {
    close()
    try {
      const rpc = connection.rpc()
      stops = [rpc.projections.on('status', apply), rpc.projections.on('progress', onProgress)]
    } catch (e) {
      error.value = describeError(e)
      return
    }
    knownRevision = revisionKey()
    timer = setInterval(() => sample(), SAMPLE_EVERY_MS)
    await load()
  }

  function close(): void {
    for (const stop of stops) stop()
    stops = []
    clearInterval(timer)
    timer = undefined
  }

  function revisionKey(): string | null {
    return workspace.state ? `${workspace.state.path}#${workspace.state.revision}` : null
  }

  // Code saved, trusted or another workspace: the set of projections (and their tables) may have changed.
  watch(
    () => revisionKey(),
    (key) => {
      if (stops.length === 0 || key === knownRevision) return
      knownRevision = key
      void load()
    }
  )

  return { statuses, byName, descriptors, samples, loading, loaded, error, busy, actionError, selected, current, currentDescriptor, apply, load, describe, sample, act, select, open, close }
})
