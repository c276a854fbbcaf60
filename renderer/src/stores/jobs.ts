import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import { exportResult, importResult, type JobInfo } from '../../../shared/contract'
import type { EventFilter } from '../../../shared/model/events'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

/** Bytes read from the file per chunk: decoded, they stay under 2 MiB of text even with a split character. */
export const UPLOAD_CHUNK_BYTES = 2 * 1024 * 1024 - 4

export interface ExportForm {
  streamId: string
  category: string
  /** Comma-separated event types. */
  types: string
  fromPosition: string
  toPosition: string
  /** Write the events as read through the workspace's upcasters, not as stored. */
  asRead?: boolean
}

export type ExportFilterCheck = { ok: true; filter: EventFilter } | { ok: false; error: string }

/** Turns the export form into an $all filter, leaving out what is blank. */
export function exportFilterOf(form: ExportForm): ExportFilterCheck {
  const filter: EventFilter = {}
  if (form.streamId.trim()) filter.streamId = form.streamId.trim()
  if (form.category.trim()) filter.category = form.category.trim()
  const types = form.types.split(',').map((t) => t.trim()).filter(Boolean)
  if (types.length) filter.types = types
  for (const key of ['fromPosition', 'toPosition'] as const) {
    const text = form[key].trim()
    if (!text) continue
    const n = Number(text)
    if (!Number.isInteger(n) || n < 0) return { ok: false, error: `${key === 'fromPosition' ? 'From' : 'To'} position must be a whole number ≥ 0` }
    filter[key] = n
  }
  if (filter.fromPosition !== undefined && filter.toPosition !== undefined && filter.fromPosition > filter.toPosition) {
    return { ok: false, error: 'From position is after to position' }
  }
  return { ok: true, filter }
}

/** An update that arrives before the answer to the call that started the job must not be undone by it. */
export function mergeJob(known: JobInfo | undefined, next: JobInfo): JobInfo {
  if (!known) return next
  if (known.state !== 'running' && next.state === 'running') return known
  if (known.state === 'running' && next.state === 'running' && next.done < known.done) return known
  return next
}

/** Reads a file as text in chunks, without holding all of it. */
export async function* textChunks(file: Blob, chunkBytes = UPLOAD_CHUNK_BYTES): AsyncGenerator<{ text: string; bytes: number }> {
  const decoder = new TextDecoder('utf-8')
  for (let offset = 0; offset < file.size; offset += chunkBytes) {
    const end = Math.min(offset + chunkBytes, file.size)
    const buffer = await file.slice(offset, end).arrayBuffer()
    yield { text: decoder.decode(buffer, { stream: end < file.size }), bytes: end }
  }
}

export type ImportPhase = 'idle' | 'uploading' | 'importing' | 'finished'

/** Export and import jobs: start, follow progress through `jobs.updated`, cancel. */
export const useJobsStore = defineStore('jobs', () => {
  const connection = useConnectionStore()
  const jobs = ref<Record<string, JobInfo>>({})
  const exportForm = reactive<ExportForm>({ streamId: '', category: '', types: '', fromPosition: '', toPosition: '', asRead: false })
  const exportJobId = ref<string | null>(null)
  const exportError = ref<string | null>(null)
  const importJobId = ref<string | null>(null)
  const importPhase = ref<ImportPhase>('idle')
  const importFileName = ref<string | null>(null)
  const uploaded = ref(0)
  const uploadTotal = ref(0)
  const importError = ref<string | null>(null)
  let stopUpdates: Disposer | null = null
  let uploadCancelled = false

  const exportCheck = computed(() => exportFilterOf(exportForm))
  const exportJob = computed(() => (exportJobId.value ? jobs.value[exportJobId.value] ?? null : null))
  const importJob = computed(() => (importJobId.value ? jobs.value[importJobId.value] ?? null : null))
  const exportOutcome = computed(() => {
    const parsed = exportResult.safeParse(exportJob.value?.state === 'succeeded' ? exportJob.value.result : undefined)
    return parsed.success ? parsed.data : null
  })
  const importOutcome = computed(() => {
    const parsed = importResult.safeParse(importJob.value?.state === 'succeeded' ? importJob.value.result : undefined)
    return parsed.success ? parsed.data : null
  })

  /** Why the import did not happen: an upload error, or the job's own error (it names the line). */
  const importFailure = computed<string | null>(() => {
    if (importError.value) return importError.value
    const job = importJob.value
    if (job?.state === 'failed') return job.error?.message ?? 'The import failed'
    if (job?.state === 'cancelled') return 'Import cancelled; nothing was imported.'
    return null
  })

  /** Jobs to show in the Workspace panel: whatever runs now, and, for the demo, how its log was made (it may have failed). */
  function workspaceJobs(demo: boolean): JobInfo[] {
    const all = Object.values(jobs.value).sort((a, b) => b.startedAt - a.startedAt)
    const seed = demo ? all.find((j) => j.kind === 'seed') : undefined
    return all.filter((j) => j.state === 'running' || j === seed)
  }

  function remember(job: JobInfo): void {
    jobs.value = { ...jobs.value, [job.id]: mergeJob(jobs.value[job.id], job) }
  }

  async function startExport(): Promise<void> {
    const check = exportCheck.value
    if (!check.ok) {
      exportError.value = check.error
      return
    }
    exportError.value = null
    exportJobId.value = null
    try {
      const job = await connection.rpc().jobs.startExport({ filter: check.filter, upcast: exportForm.asRead === true })
      remember(job)
      exportJobId.value = job.id
    } catch (e) {
      exportError.value = `Could not start the export: ${describeError(e)}`
    }
  }

  async function cancel(jobId: string): Promise<void> {
    try {
      remember(await connection.rpc().jobs.cancel({ jobId }))
    } catch (e) {
      const message = `Could not cancel the job: ${describeError(e)}`
      if (jobId === exportJobId.value) exportError.value = message
      else importError.value = message
    }
  }

  /** Uploads an NDJSON file in chunks, then imports it as one job (all or nothing). */
  async function importFile(file: Blob & { name: string }): Promise<void> {
    const rpc = connection.rpc()
    importJobId.value = null
    importError.value = null
    importFileName.value = file.name
    uploaded.value = 0
    uploadTotal.value = file.size
    uploadCancelled = false
    importPhase.value = 'uploading'
    try {
      const { uploadId } = await rpc.jobs.beginUpload({ fileName: file.name, bytes: file.size })
      for await (const chunk of textChunks(file)) {
        if (uploadCancelled) {
          importError.value = 'Import cancelled during upload; nothing was imported.'
          importPhase.value = 'finished'
          return
        }
        if (chunk.text) await rpc.jobs.uploadChunk({ uploadId, text: chunk.text })
        uploaded.value = chunk.bytes
      }
      importPhase.value = 'importing'
      const job = await rpc.jobs.startImport({ uploadId })
      remember(job)
      importJobId.value = job.id
    } catch (e) {
      importError.value = `Import of ${file.name} failed: ${describeError(e)}`
      importPhase.value = 'finished'
    }
  }

  function cancelImport(): void {
    if (importPhase.value === 'uploading') uploadCancelled = true
    else if (importJobId.value) void cancel(importJobId.value)
  }

  /** Follows job updates until close(); picks up jobs that ran while the panel was away. */
  async function open(): Promise<void> {
    close()
    try {
      const rpc = connection.rpc()
      stopUpdates = rpc.jobs.on('updated', (job) => remember(job))
      for (const job of await rpc.jobs.list()) remember(job)
    } catch {
      // Without the job service, starting a job reports the error where the person looks.
    }
  }

  function close(): void {
    stopUpdates?.()
    stopUpdates = null
  }

  return {
    jobs, workspaceJobs, exportForm, exportCheck, exportJobId, exportJob, exportOutcome, exportError,
    importJobId, importJob, importOutcome, importFailure, importPhase, importFileName, uploaded, uploadTotal, importError,
    remember, startExport, cancel, importFile, cancelImport, open, close
  }
})
