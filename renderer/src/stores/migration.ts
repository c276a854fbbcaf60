import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { migrationReport, type EventSchema, type JobInfo, type MigrationReport, type UpcasterRegistry } from '../../../shared/contract'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { mergeJob } from './jobs'
import { useWorkspaceStore } from './workspace'

export type MigrationStep = 'plan' | 'run' | 'verify'

/** What a migration does to the events of one stored type and version. */
export interface PlannedChange {
  type: string
  schemaVersion: number
  count: number
  /** Where the chain of upcasters ends; null for a split (the parts say their own types). */
  toType: string | null
  toVersion: number
  split: boolean
}

export interface MigrationPlan {
  /** Events in the log. */
  total: number
  /** Stored types and versions the upcasters change, with their event counts. */
  changes: PlannedChange[]
  /** Events copied as they are. */
  copied: number
}

/** Follows the upcaster steps from each stored (type, version) to where its chain ends, and counts the events. */
export function migrationPlan(schemas: EventSchema[], registry: UpcasterRegistry | null): MigrationPlan {
  const steps = registry?.steps ?? []
  const changes: PlannedChange[] = []
  let total = 0
  for (const s of schemas) {
    total += s.count
    let type = s.type
    let version = s.schemaVersion
    let split = false
    let moved = false
    const seen = new Set<string>()
    for (;;) {
      const key = `${type}@${version}`
      const step = seen.has(key) ? undefined : steps.find((x) => x.eventType === type && x.fromVersion === version)
      if (!step) break
      seen.add(key)
      moved = true
      version = step.toVersion
      if (step.split) {
        split = true
        break
      }
      type = step.toType ?? type
    }
    if (moved) changes.push({ type: s.type, schemaVersion: s.schemaVersion, count: s.count, toType: split ? null : type, toVersion: version, split })
  }
  const changed = changes.reduce((n, c) => n + c.count, 0)
  return { total, changes: changes.sort((a, b) => a.type.localeCompare(b.type) || a.schemaVersion - b.schemaVersion), copied: total - changed }
}

/** A folder beside the workspace: `/ws/demo` → `/ws/demo-migrated`. */
export function suggestedTarget(path: string | null | undefined): string {
  if (!path) return ''
  return `${path.replace(/[\\/]+$/, '')}-migrated`
}

/**
 * The migration wizard: plan (a target folder), run (a copy-and-transform job with progress and cancel), the
 * verification report, and the switch to the new workspace once it is verified.
 */
export const useMigrationStore = defineStore('migration', () => {
  const connection = useConnectionStore()
  const workspace = useWorkspaceStore()
  const showing = ref(false)
  const target = ref('')
  const jobs = ref<Record<string, JobInfo>>({})
  const jobId = ref<string | null>(null)
  const busy = ref<'start' | 'cancel' | 'switch' | null>(null)
  const error = ref<string | null>(null)
  /** The switch that was made: the workspace opened, and the one left (kept on disk). */
  const switched = ref<{ dir: string; from: string | null } | null>(null)
  let stopUpdates: Disposer | null = null

  const job = computed(() => (jobId.value ? jobs.value[jobId.value] ?? null : null))
  const step = computed<MigrationStep>(() => (!job.value ? 'plan' : job.value.state === 'succeeded' ? 'verify' : 'run'))
  const report = computed<MigrationReport | null>(() => {
    const parsed = migrationReport.safeParse(job.value?.state === 'succeeded' ? job.value.result : undefined)
    return parsed.success ? parsed.data : null
  })
  /** Why the run ended without a report. */
  const failure = computed<string | null>(() => {
    const j = job.value
    if (j?.state === 'failed') return j.error?.message ?? 'The migration failed'
    if (j?.state === 'cancelled') return 'Migration cancelled; the current workspace is unchanged.'
    if (j?.state === 'succeeded' && !report.value) return 'The migration finished without a report'
    return null
  })
  const canSwitch = computed(() => report.value?.verified === true && busy.value === null && switched.value === null)

  function remember(next: JobInfo): void {
    if (next.kind !== 'migrate') return
    jobs.value = { ...jobs.value, [next.id]: mergeJob(jobs.value[next.id], next) }
  }

  function openWizard(): void {
    showing.value = true
    error.value = null
    if (!target.value) target.value = suggestedTarget(workspace.state?.path)
  }

  function closeWizard(): void {
    showing.value = false
  }

  async function start(): Promise<boolean> {
    const dir = target.value.trim()
    if (!dir) {
      error.value = 'Enter the folder the migrated workspace goes to'
      return false
    }
    if (dir === workspace.state?.path) {
      error.value = 'The target must be another folder than the open workspace'
      return false
    }
    if (busy.value) return false
    busy.value = 'start'
    error.value = null
    switched.value = null
    try {
      const next = await connection.rpc().upcasters.startMigration({ target: dir })
      jobId.value = next.id
      remember(next)
      return true
    } catch (e) {
      error.value = `Could not start the migration: ${describeError(e)}`
      return false
    } finally {
      busy.value = null
    }
  }

  async function cancel(): Promise<void> {
    const j = job.value
    if (j?.state !== 'running' || busy.value) return
    busy.value = 'cancel'
    try {
      remember(await connection.rpc().jobs.cancel({ jobId: j.id }))
    } catch (e) {
      error.value = `Could not cancel the migration: ${describeError(e)}`
    } finally {
      busy.value = null
    }
  }

  /** Back to the plan (after a failed, cancelled or refused run, or to migrate again). */
  function back(): void {
    if (job.value?.state === 'running') return
    jobId.value = null
    error.value = null
    switched.value = null
  }

  /** Opens the verified migrated workspace in place of this one. */
  async function switchTo(): Promise<boolean> {
    const r = report.value
    if (!r?.verified || busy.value) return false
    busy.value = 'switch'
    error.value = null
    const from = workspace.state?.path ?? null
    try {
      const { dir } = await connection.rpc().upcasters.switchTo({ target: r.target })
      switched.value = { dir, from }
      await workspace.refresh()
      return true
    } catch (e) {
      error.value = `Could not switch to ${r.target}: ${describeError(e)}`
      return false
    } finally {
      busy.value = null
    }
  }

  /** Follows job updates until close(); picks up a migration of this session that is still running. */
  async function open(): Promise<void> {
    close()
    try {
      const rpc = connection.rpc()
      stopUpdates = rpc.jobs.on('updated', remember)
      const list = await rpc.jobs.list()
      for (const j of list) remember(j)
      const running = list.find((j) => j.kind === 'migrate' && j.state === 'running')
      if (!jobId.value && running) jobId.value = running.id
    } catch (e) {
      error.value = describeError(e)
    }
  }

  function close(): void {
    stopUpdates?.()
    stopUpdates = null
  }

  return { showing, target, jobs, jobId, job, step, report, failure, canSwitch, busy, error, switched, remember, openWizard, closeWizard, start, cancel, back, switchTo, open, close }
})
