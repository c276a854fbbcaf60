import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { JobInfo } from '../../../shared/contract'
import { fakeClient, installFakeClient } from './fake-client'
import { exportFilterOf, mergeJob, textChunks, UPLOAD_CHUNK_BYTES, useJobsStore } from './jobs'

beforeEach(() => setActivePinia(createPinia()))

const job = (fields: Partial<JobInfo> = {}): JobInfo => ({
  id: 'job-1',
  kind: 'export',
  title: 'Export',
  state: 'running',
  done: 0,
  total: 10,
  message: '',
  startedAt: 1,
  finishedAt: null,
  error: null,
  ...fields
})
const blankForm = { streamId: '', category: '', types: '', fromPosition: '', toPosition: '' }

describe('export', () => {
  it('builds the $all filter from the form, leaving out what is blank', () => {
    expect(exportFilterOf(blankForm)).toEqual({ ok: true, filter: {} })
    expect(exportFilterOf({ streamId: ' order-1 ', category: 'order', types: 'A, B,,', fromPosition: '5', toPosition: '9' })).toEqual({
      ok: true,
      filter: { streamId: 'order-1', category: 'order', types: ['A', 'B'], fromPosition: 5, toPosition: 9 }
    })
    expect(exportFilterOf({ ...blankForm, fromPosition: '-1' })).toEqual({ ok: false, error: 'From position must be a whole number ≥ 0' })
    expect(exportFilterOf({ ...blankForm, fromPosition: '9', toPosition: '5' })).toEqual({ ok: false, error: 'From position is after to position' })
  })

  it('starts a job and follows its updates to the result', async () => {
    const startExport = vi.fn().mockResolvedValue(job())
    const fake = fakeClient({ jobs: { startExport, list: vi.fn().mockResolvedValue([]) } })
    installFakeClient(fake)
    const jobs = useJobsStore()
    await jobs.open()
    jobs.exportForm.category = 'order'
    await jobs.startExport()
    expect(startExport).toHaveBeenCalledWith({ filter: { category: 'order' }, upcast: false })
    fake.emit('jobs', 'updated', job({ done: 5 }))
    expect(jobs.exportJob?.done).toBe(5)
    const result = { file: '/ws/exports/e.ndjson', fileName: 'e.ndjson', events: 10, bytes: 900, downloadUrl: '/exports/e.ndjson' }
    fake.emit('jobs', 'updated', job({ done: 10, state: 'succeeded', result, finishedAt: 2 }))
    expect(jobs.exportOutcome).toEqual(result)
    // As read: through the upcasters.
    jobs.exportForm.asRead = true
    await jobs.startExport()
    expect(startExport).toHaveBeenLastCalledWith({ filter: { category: 'order' }, upcast: true })
    jobs.close()
    expect(fake.listenerCount()).toBe(0)
  })

  it('keeps an end that arrived before the answer that started the job', () => {
    const done = job({ state: 'succeeded', done: 10 })
    expect(mergeJob(done, job())).toBe(done)
    const ahead = job({ done: 7 })
    expect(mergeJob(ahead, job({ done: 3 }))).toBe(ahead)
    expect(mergeJob(job({ done: 3 }), ahead)).toBe(ahead)
  })

  it('cancels the job', async () => {
    const cancel = vi.fn().mockResolvedValue(job({ state: 'cancelled' }))
    installFakeClient(fakeClient({ jobs: { startExport: vi.fn().mockResolvedValue(job()), cancel } }))
    const jobs = useJobsStore()
    await jobs.startExport()
    await jobs.cancel('job-1')
    expect(cancel).toHaveBeenCalledWith({ jobId: 'job-1' })
    expect(jobs.exportJob?.state).toBe('cancelled')
  })
})

describe('import', () => {
  it('reads a file in chunks that never split a character', async () => {
    const text = 'aé€😀\n'.repeat(5)
    const chunks: string[] = []
    for await (const c of textChunks(new Blob([text]), 5)) chunks.push(c.text)
    expect(chunks.join('')).toBe(text)
    expect(chunks.length).toBeGreaterThan(3)
    expect(UPLOAD_CHUNK_BYTES).toBeLessThanOrEqual(2 * 1024 * 1024 - 3)
  })

  it('uploads in chunks of at most 2 MiB of text, then starts the import', async () => {
    const uploads: number[] = []
    const beginUpload = vi.fn().mockResolvedValue({ uploadId: 'u-1' })
    const uploadChunk = vi.fn(async ({ text }: { text: string }) => {
      uploads.push(text.length)
      return { received: text.length }
    })
    const startImport = vi.fn().mockResolvedValue(job({ id: 'job-2', kind: 'import' }))
    installFakeClient(fakeClient({ jobs: { beginUpload, uploadChunk, startImport } }))
    const jobs = useJobsStore()
    const line = `${JSON.stringify({ streamId: 'order-1', type: 'OrderPlaced', data: { note: 'x'.repeat(200) } })}\n`
    const file = new File([line.repeat(25_000)], 'events.ndjson')
    await jobs.importFile(file)
    expect(beginUpload).toHaveBeenCalledWith({ fileName: 'events.ndjson', bytes: file.size })
    expect(uploads.length).toBe(Math.ceil(file.size / UPLOAD_CHUNK_BYTES))
    expect(Math.max(...uploads)).toBeLessThanOrEqual(2 * 1024 * 1024)
    expect(uploads.reduce((a, b) => a + b, 0)).toBe(file.size)
    expect(startImport).toHaveBeenCalledWith({ uploadId: 'u-1' })
    expect(jobs.importJobId).toBe('job-2')
    expect(jobs.uploaded).toBe(file.size)
  })

  it('reports the failed line the import job names', async () => {
    const fake = fakeClient({
      jobs: {
        beginUpload: vi.fn().mockResolvedValue({ uploadId: 'u-1' }),
        uploadChunk: vi.fn().mockResolvedValue({ received: 1 }),
        startImport: vi.fn().mockResolvedValue(job({ id: 'job-3', kind: 'import' })),
        list: vi.fn().mockResolvedValue([])
      }
    })
    installFakeClient(fake)
    const jobs = useJobsStore()
    await jobs.open()
    await jobs.importFile(new File(['{"bad"\n'], 'bad.ndjson'))
    const error = { code: 'InvalidInput', message: 'Line 1: not valid JSON' }
    fake.emit('jobs', 'updated', job({ id: 'job-3', kind: 'import', state: 'failed', error }))
    expect(jobs.importFailure).toBe('Line 1: not valid JSON')
  })

  it('says which file could not be uploaded', async () => {
    installFakeClient(fakeClient({ jobs: { beginUpload: () => Promise.reject(new Error('too large')) } }))
    const jobs = useJobsStore()
    await jobs.importFile(new File(['{}\n'], 'x.ndjson'))
    expect(jobs.importFailure).toBe('Import of x.ndjson failed: too large')
    expect(jobs.importPhase).toBe('finished')
  })
})

describe('jobs in the Workspace panel', () => {
  it('shows what runs, and for the demo the latest seeding even when it has ended', async () => {
    const list = vi.fn().mockResolvedValue([
      job({ id: 'seed-old', kind: 'seed', state: 'succeeded', startedAt: 1 }),
      job({ id: 'seed-new', kind: 'seed', state: 'failed', startedAt: 5 }),
      job({ id: 'export-done', kind: 'export', state: 'succeeded', startedAt: 6 }),
      job({ id: 'import-running', kind: 'import', state: 'running', startedAt: 7 })
    ])
    const fake = fakeClient({ jobs: { list } })
    installFakeClient(fake)
    const jobs = useJobsStore()
    await jobs.open()
    expect(jobs.workspaceJobs(true).map((j) => j.id)).toEqual(['import-running', 'seed-new'])
    expect(jobs.workspaceJobs(false).map((j) => j.id)).toEqual(['import-running'])
    fake.emit('jobs', 'updated', job({ id: 'seed-3', kind: 'seed', title: 'Generating the demo shop log', state: 'running', done: 45, total: 100, startedAt: 9 }))
    expect(jobs.workspaceJobs(true).map((j) => [j.id, j.done])).toEqual([['seed-3', 45], ['import-running', 0]])
  })
})
