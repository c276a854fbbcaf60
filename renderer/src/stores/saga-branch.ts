import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import { branchReport, type BranchReport, type JobInfo, type SagaInstance } from '../../../shared/contract'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'
import { mergeJob } from './jobs'

export type BranchInjectKind = 'event' | 'advance-clock'

export interface BranchForm {
  /** Blank: the head of the log. */
  position: string
  kind: BranchInjectKind
  streamId: string
  type: string
  /** The event's data as JSON text. */
  data: string
  correlationId: string
  /** How far to move the branch's clock on, in seconds. */
  seconds: string
}

type Inject = { kind: 'event'; streamId: string; type: string; data: Record<string, unknown>; correlationId?: string } | { kind: 'advance-clock'; ms: number }
export type BranchCheck = { ok: true; position: number; inject: Inject } | { ok: false; field: keyof BranchForm; error: string }

/** Checks the dialog's form and turns it into `sagas.startBranch` input; `head` is the log's head position. */
export function branchInput(form: BranchForm, head: number): BranchCheck {
  let position = head
  if (form.position.trim()) {
    position = Number(form.position.trim())
    if (!Number.isInteger(position) || position < 0) return { ok: false, field: 'position', error: 'The position is a whole number ≥ 0' }
    if (position > head) return { ok: false, field: 'position', error: `The log ends at position ${head}` }
  }
  if (form.kind === 'advance-clock') {
    const seconds = Number(form.seconds.trim())
    if (!form.seconds.trim() || !Number.isFinite(seconds) || seconds <= 0) return { ok: false, field: 'seconds', error: 'Move the clock on by a number of seconds above 0' }
    return { ok: true, position, inject: { kind: 'advance-clock', ms: Math.max(1, Math.round(seconds * 1000)) } }
  }
  if (!form.streamId.trim()) return { ok: false, field: 'streamId', error: 'Name the stream the event goes to' }
  if (!form.type.trim()) return { ok: false, field: 'type', error: 'Name the event type' }
  let data: unknown
  try {
    data = form.data.trim() ? JSON.parse(form.data) : {}
  } catch (e) {
    return { ok: false, field: 'data', error: `The data is not JSON: ${(e as Error).message}` }
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return { ok: false, field: 'data', error: 'The data is a JSON object' }
  const correlationId = form.correlationId.trim()
  return { ok: true, position, inject: { kind: 'event', streamId: form.streamId.trim(), type: form.type.trim(), data: data as Record<string, unknown>, ...(correlationId ? { correlationId } : {}) } }
}

/** What to inject for an instance: its step's failure event (a payment declined), in the stream its commands went to. */
export function failureFor(instance: SagaInstance, step: { name: string; onFailure: string[] } | null, streamOfStep: string | null): Partial<BranchForm> {
  const type = step?.onFailure[0] ?? ''
  return {
    kind: 'event',
    streamId: streamOfStep ?? '',
    type,
    data: JSON.stringify({ orderId: instance.id, reason: 'injected on a branch' }, null, 2),
    correlationId: instance.correlationId
  }
}

/** A step that changed on the branch: before → after, per instance. */
export function changedSteps(change: BranchReport['changed'][number]): Array<{ step: string; before: string; after: string }> {
  const out: Array<{ step: string; before: string; after: string }> = []
  for (const [step, after] of Object.entries(change.after.steps)) {
    const before = change.before?.steps[step]?.state ?? 'none'
    if (before !== after.state) out.push({ step, before, after: after.state })
  }
  return out
}

/**
 * Branch and inject: forks the log at a position into a scratch copy, injects an event or moves the clock there, and
 * lets the sagas run on the copy; a job (followed through `jobs.updated`) whose result is the branch report.
 */
export const useSagaBranchStore = defineStore('saga-branch', () => {
  const connection = useConnectionStore()
  const showing = ref(false)
  const form = reactive<BranchForm>({ position: '', kind: 'event', streamId: '', type: '', data: '{}', correlationId: '', seconds: '900' })
  const head = ref<number | null>(null)
  const headAfter = ref<number | null>(null)
  const jobs = ref<Record<string, JobInfo>>({})
  const jobId = ref<string | null>(null)
  const starting = ref(false)
  const error = ref<string | null>(null)
  let stopUpdates: Disposer | null = null

  const check = computed(() => branchInput(form, head.value ?? 0))
  const job = computed(() => (jobId.value ? jobs.value[jobId.value] ?? null : null))
  const report = computed<BranchReport | null>(() => {
    const parsed = branchReport.safeParse(job.value?.state === 'succeeded' ? job.value.result : undefined)
    return parsed.success ? parsed.data : null
  })
  const failure = computed<string | null>(() => {
    const j = job.value
    if (j?.state === 'failed') return j.error?.message ?? 'The branch failed'
    if (j?.state === 'cancelled') return 'The branch was cancelled.'
    if (j?.state === 'succeeded' && !report.value) return 'The branch finished without a report'
    return null
  })

  function remember(next: JobInfo): void {
    if (next.kind !== 'branch') return
    jobs.value = { ...jobs.value, [next.id]: mergeJob(jobs.value[next.id], next) }
    if (next.id === jobId.value && next.state === 'succeeded') void readHead(headAfter)
  }

  async function readHead(target = head): Promise<void> {
    try {
      target.value = (await connection.rpc().store.stats()).headPosition
    } catch (e) {
      error.value = `Could not read the head of the log: ${describeError(e)}`
    }
  }

  /** Opens the dialog (prefilled), reads the head of the log and follows job updates. */
  async function openDialog(prefill: Partial<BranchForm> = {}): Promise<void> {
    Object.assign(form, prefill)
    showing.value = true
    error.value = null
    jobId.value = null
    headAfter.value = null
    stopUpdates?.()
    try {
      stopUpdates = connection.rpc().jobs.on('updated', remember)
    } catch (e) {
      error.value = describeError(e)
    }
    await readHead()
  }

  function closeDialog(): void {
    showing.value = false
    stopUpdates?.()
    stopUpdates = null
  }

  async function start(): Promise<boolean> {
    // The head now: the default position, and what the report compares the log's head with afterwards.
    await readHead()
    const c = check.value
    if (!c.ok) {
      error.value = c.error
      return false
    }
    starting.value = true
    error.value = null
    headAfter.value = null
    try {
      const next = await connection.rpc().sagas.startBranch({ position: c.position, inject: c.inject })
      jobId.value = next.id
      remember(next)
      return true
    } catch (e) {
      error.value = `Could not start the branch: ${describeError(e)}`
      return false
    } finally {
      starting.value = false
    }
  }

  async function cancel(): Promise<void> {
    const j = job.value
    if (j?.state !== 'running') return
    try {
      remember(await connection.rpc().jobs.cancel({ jobId: j.id }))
    } catch (e) {
      error.value = `Could not cancel the branch: ${describeError(e)}`
    }
  }

  /** Back to the form, for another injection. */
  function again(): void {
    jobId.value = null
    headAfter.value = null
    void readHead()
  }

  return { showing, form, head, headAfter, jobs, jobId, job, report, failure, check, starting, error, remember, openDialog, closeDialog, start, cancel, again }
})
