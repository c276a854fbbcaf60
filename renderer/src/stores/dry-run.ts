import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { dryRunReport, type DryRunFailure, type DryRunReport, type JobInfo } from '../../../shared/contract'
import type { RecordedEvent } from '../../../shared/model/events'
import type { Disposer } from '../../../shared/rpc/protocol'
import { prettyJson } from '../format'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { mergeJob } from './jobs'
import { useWorkspaceStore } from './workspace'

export type DryRunPhase = 'none' | 'running' | 'done' | 'failed' | 'cancelled'

/** What the diff editor shows: a sample, a failure or a mismatch of the report, by its index there. */
export type ReportItem = { kind: 'sample' | 'failure' | 'mismatch'; index: number }

/** Per stored type and version, and over all of them. */
export type DryRunCount = DryRunReport['counts'][number]

export function reportTotals(report: DryRunReport): Omit<DryRunCount, 'type' | 'schemaVersion'> {
  return report.counts.reduce((t, c) => ({ transformed: t.transformed + c.transformed, unchanged: t.unchanged + c.unchanged, failed: t.failed + c.failed, mismatched: t.mismatched + c.mismatched }), {
    transformed: 0,
    unchanged: 0,
    failed: 0,
    mismatched: 0
  })
}

/** An event as the diff shows it: its type and version above its data (a split reads as a list of these). */
function shown(e: Pick<RecordedEvent, 'type' | 'schemaVersion' | 'data'>) {
  return { type: e.type, schemaVersion: e.schemaVersion, data: e.data }
}

/** The two texts of the diff editor for one item of a report: the stored event, and what it reads as (or the error). */
export function diffTexts(report: DryRunReport, item: ReportItem): { original: string; modified: string } | null {
  if (item.kind === 'sample') {
    const s = report.samples[item.index]
    if (!s) return null
    return { original: prettyJson(shown(s.before)), modified: prettyJson(s.after.length === 1 ? shown(s.after[0]) : s.after.map(shown)) }
  }
  if (item.kind === 'mismatch') {
    const m = report.mismatches[item.index]
    if (!m) return null
    return { original: prettyJson(shown(m.before)), modified: prettyJson(shown(m.after)) }
  }
  const f = report.failures[item.index]
  if (!f) return null
  // No event came out: the error stands above the stored event, which the diff shows unchanged.
  return { original: prettyJson(shown(f)), modified: prettyJson({ failed: f.message, at: failureSource(f)?.label ?? null, ...shown(f) }) }
}

/** `upcasters/item-added.ts:12:5` and a link that shows that line in the editor; null when the place is not known. */
export function failureSource(f: Pick<DryRunFailure, 'file' | 'line' | 'column'>): { label: string; to: { path: string; query: Record<string, string> } } | null {
  if (!f.file) return null
  const label = `${f.file}${f.line ? `:${f.line}` : ''}${f.line && f.column ? `:${f.column}` : ''}`
  return { label, to: { path: '/upcasters', query: { file: f.file, ...(f.line ? { line: String(f.line) } : {}) } } }
}

/** A link that opens an event in the Streams panel. */
export function eventLink(e: { streamId: string; position: number }): { path: string; query: Record<string, string> } {
  return { path: '/streams', query: { stream: e.streamId, event: String(e.position) } }
}

/** The first item worth showing: a failure, else a mismatch, else a sample. */
export function firstItem(report: DryRunReport): ReportItem | null {
  if (report.failures.length) return { kind: 'failure', index: 0 }
  if (report.mismatches.length) return { kind: 'mismatch', index: 0 }
  if (report.samples.length) return { kind: 'sample', index: 0 }
  return null
}

/**
 * Dry-runs of the upcasters over the real log: started by hand or when an upcaster file is saved, followed through
 * `jobs.updated`, cancelled; the finished job's result is the report (counts, failures, samples, mismatches).
 */
export const useDryRunStore = defineStore('dry-run', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  /** Start a dry-run whenever an upcaster file is saved. */
  const onSave = ref(true)
  const jobs = ref<Record<string, JobInfo>>({})
  const jobId = ref<string | null>(null)
  const starting = ref(false)
  const error = ref<string | null>(null)
  /** The types the current run covers (all types with upcasters when null). */
  const types = ref<string[] | null>(null)
  const item = ref<ReportItem | null>(null)
  let stopUpdates: Disposer | null = null

  const job = computed(() => (jobId.value ? jobs.value[jobId.value] ?? null : null))
  const phase = computed<DryRunPhase>(() => {
    const j = job.value
    if (!j) return starting.value ? 'running' : 'none'
    return j.state === 'running' ? 'running' : j.state === 'succeeded' ? 'done' : j.state
  })
  const report = computed<DryRunReport | null>(() => {
    const j = job.value
    if (j?.state !== 'succeeded') return null
    const parsed = dryRunReport.safeParse(j.result)
    return parsed.success ? parsed.data : null
  })
  /** Why the run gave no report: the job failed, or its result was not a report. */
  const failure = computed<string | null>(() => {
    const j = job.value
    if (j?.state === 'failed') return j.error?.message ?? 'The dry-run failed'
    if (j?.state === 'succeeded' && !report.value) return 'The dry-run finished without a report'
    return null
  })
  const totals = computed(() => (report.value ? reportTotals(report.value) : null))
  const diff = computed(() => (report.value && item.value ? diffTexts(report.value, item.value) : null))

  function remember(next: JobInfo): void {
    if (next.kind !== 'dry-run') return
    const was = jobs.value[next.id]
    jobs.value = { ...jobs.value, [next.id]: mergeJob(was, next) }
    // A report that just arrived: show its first failure (or mismatch, or sample) in the diff.
    if (next.id === jobId.value && was?.state !== 'succeeded' && jobs.value[next.id].state === 'succeeded') {
      item.value = report.value ? firstItem(report.value) : null
    }
  }

  // A save while a run is being started: that one is of older code, so another starts after it.
  let again: { only?: string[] } | null = null

  async function start(only?: string[]): Promise<boolean> {
    if (starting.value) {
      again = { only }
      return false
    }
    starting.value = true
    error.value = null
    item.value = null
    const running = job.value?.state === 'running' ? job.value.id : null
    try {
      const rpc = connection.rpc()
      // A newer run replaces one still going: its code is out of date.
      if (running) await rpc.jobs.cancel({ jobId: running }).then(remember, () => undefined)
      const next = await rpc.upcasters.startDryRun(only?.length ? { types: only } : {})
      types.value = only?.length ? only : null
      jobId.value = next.id
      remember(next)
      // Its updates may have come before this answer, the last one with the report.
      if (report.value && !item.value) item.value = firstItem(report.value)
      return true
    } catch (e) {
      error.value = `Could not start a dry-run: ${describeError(e)}`
      return false
    } finally {
      starting.value = false
      const next = again
      again = null
      if (next) void start(next.only)
    }
  }

  async function cancel(): Promise<void> {
    const j = job.value
    if (j?.state !== 'running') return
    try {
      remember(await connection.rpc().jobs.cancel({ jobId: j.id }))
    } catch (e) {
      error.value = `Could not cancel the dry-run: ${describeError(e)}`
    }
  }

  /** A definition file was saved: an upcaster file starts a dry-run (when `onSave`). */
  async function saved(path: string): Promise<boolean> {
    if (!onSave.value || !path.startsWith('upcasters/')) return false
    return start()
  }

  // An upcaster file saved here or changed on disk (one dry-run for all the files a change brought).
  watch(
    () => workspace.changed,
    (changed) => {
      const path = changed?.paths.find((p) => p.startsWith('upcasters/'))
      if (path) void saved(path)
    }
  )

  function show(next: ReportItem): void {
    item.value = next
  }

  /** Follows job updates until close(); picks up the newest dry-run of the session (it may have run meanwhile). */
  async function open(): Promise<void> {
    close()
    try {
      const rpc = connection.rpc()
      stopUpdates = rpc.jobs.on('updated', remember)
      const list = await rpc.jobs.list()
      for (const j of list) remember(j)
      if (!jobId.value) {
        const newest = list.filter((j) => j.kind === 'dry-run').sort((a, b) => b.startedAt - a.startedAt)[0]
        if (newest) {
          jobId.value = newest.id
          item.value = report.value ? firstItem(report.value) : null
        }
      }
    } catch (e) {
      error.value = describeError(e)
    }
  }

  function close(): void {
    stopUpdates?.()
    stopUpdates = null
  }

  // A report is about the log it read: another workspace starts without one.
  let workspacePath = workspace.state?.path ?? null
  watch(
    () => workspace.state?.path ?? null,
    (path) => {
      if (path === null || path === workspacePath) return
      const was = workspacePath
      workspacePath = path
      if (was === null) return
      jobId.value = null
      item.value = null
      types.value = null
    }
  )

  return { onSave, jobs, jobId, job, phase, report, failure, totals, types, item, diff, starting, error, remember, start, cancel, saved, show, open, close }
})
