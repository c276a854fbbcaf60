import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { DryRunReport } from '../../../shared/contract'
import { diffTexts, eventLink, failureSource, firstItem, reportTotals, useDryRunStore } from './dry-run'
import { dryRunReport, fakeClient, installFakeClient, jobInfo, recordedEvent, workspaceState } from './fake-client'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

const stored = recordedEvent(35, { streamId: 'cart-1', type: 'ItemAdded', schemaVersion: 1, data: { sku: 'tea', price: '12.50' } })
const read = { ...stored, schemaVersion: 2, data: { sku: 'tea', priceCents: 1250 }, upcastedFrom: { type: 'ItemAdded', schemaVersion: 1 } }
const failing: DryRunReport = dryRunReport({
  ok: false,
  counts: [
    { type: 'ItemAdded', schemaVersion: 1, transformed: 90, unchanged: 0, failed: 8, mismatched: 0 },
    { type: 'ItemAdded', schemaVersion: 2, transformed: 0, unchanged: 300, failed: 0, mismatched: 2 }
  ],
  failures: [{ position: 35, streamId: 'cart-1', type: 'ItemAdded', schemaVersion: 1, message: 'Boom', file: 'upcasters/item-added.ts', line: 12, column: 5, data: { sku: 'tea', price: '12.50' } }],
  samples: [{ before: stored, after: [read] }],
  mismatches: [{ before: stored, after: { ...read, data: { sku: 'tea', cents: 1250 } }, reasons: ['priceCents is missing'] }]
})

describe('a dry-run report', () => {
  it('adds up the counts of every stored type and version', () => {
    expect(reportTotals(failing)).toEqual({ transformed: 90, unchanged: 300, failed: 8, mismatched: 2 })
  })

  it('shows a failure first, then a mismatch, then a sample', () => {
    expect(firstItem(failing)).toEqual({ kind: 'failure', index: 0 })
    expect(firstItem({ ...failing, failures: [] })).toEqual({ kind: 'mismatch', index: 0 })
    expect(firstItem({ ...failing, failures: [], mismatches: [] })).toEqual({ kind: 'sample', index: 0 })
    expect(firstItem(dryRunReport())).toBeNull()
  })

  it('diffs the stored event with what it reads as, or with the error for a failure', () => {
    const sample = diffTexts(failing, { kind: 'sample', index: 0 })!
    expect(JSON.parse(sample.original)).toEqual({ type: 'ItemAdded', schemaVersion: 1, data: { sku: 'tea', price: '12.50' } })
    expect(JSON.parse(sample.modified)).toEqual({ type: 'ItemAdded', schemaVersion: 2, data: { sku: 'tea', priceCents: 1250 } })
    const failure = diffTexts(failing, { kind: 'failure', index: 0 })!
    expect(JSON.parse(failure.modified)).toEqual({ failed: 'Boom', at: 'upcasters/item-added.ts:12:5', type: 'ItemAdded', schemaVersion: 1, data: { sku: 'tea', price: '12.50' } })
    expect(diffTexts(failing, { kind: 'mismatch', index: 3 })).toBeNull()
  })

  it('shows the parts of a split as a list', () => {
    const split = dryRunReport({ samples: [{ before: stored, after: [{ ...read, type: 'A' }, { ...read, type: 'B' }] }] })
    expect(JSON.parse(diffTexts(split, { kind: 'sample', index: 0 })!.modified).map((e: { type: string }) => e.type)).toEqual(['A', 'B'])
  })

  it('links a failure to its line and its event', () => {
    expect(failureSource(failing.failures[0])).toEqual({ label: 'upcasters/item-added.ts:12:5', to: { path: '/upcasters', query: { file: 'upcasters/item-added.ts', line: '12' } } })
    expect(failureSource({ file: null, line: null, column: null })).toBeNull()
    expect(eventLink(failing.failures[0])).toEqual({ path: '/streams', query: { stream: 'cart-1', event: '35' } })
  })
})

describe('the dry-run store', () => {
  function setup(startDryRun = vi.fn(async () => jobInfo('j1'))) {
    const cancel = vi.fn(async ({ jobId }: { jobId: string }) => jobInfo(jobId, { state: 'cancelled' }))
    const fake = fakeClient({ upcasters: { startDryRun }, jobs: { list: async () => [], cancel } as never })
    installFakeClient(fake)
    return { fake, startDryRun, cancel, dryRun: useDryRunStore() }
  }

  it('starts a dry-run when an upcaster file is saved, and not for other files or with starting on save off', async () => {
    const { startDryRun, dryRun } = setup()
    await dryRun.open()
    expect(await dryRun.saved('projections/order-summary.ts')).toBe(false)
    expect(await dryRun.saved('upcasters/item-added.ts')).toBe(true)
    expect(startDryRun).toHaveBeenCalledWith({})
    expect(dryRun.phase).toBe('running')
    dryRun.onSave = false
    expect(await dryRun.saved('upcasters/item-added.ts')).toBe(false)
    expect(startDryRun).toHaveBeenCalledTimes(1)
  })

  it('starts another run after one that was being started when a file was saved, and follows files changed on disk', async () => {
    let release: () => void = () => undefined
    const first = new Promise<void>((resolve) => (release = resolve))
    let n = 0
    const startDryRun = vi.fn(async () => {
      n++
      if (n === 1) await first
      return jobInfo(`j${n}`)
    })
    const { dryRun } = setup(startDryRun)
    await dryRun.open()
    const starting = dryRun.start()
    expect(await dryRun.saved('upcasters/item-added.ts')).toBe(false)
    release()
    await starting
    await vi.waitFor(() => expect(startDryRun).toHaveBeenCalledTimes(2))
    await vi.waitFor(() => expect(dryRun.jobId).toBe('j2'))
    // A file the workspace says changed (here or on disk) starts one too.
    const workspace = useWorkspaceStore()
    const file = (modifiedAt: number) => ({ path: 'upcasters/item-added.ts', kind: 'upcasters' as const, modifiedAt })
    workspace.accept(workspaceState({ revision: 1, files: [file(1)] }))
    workspace.accept(workspaceState({ revision: 2, files: [file(2)] }))
    await vi.waitFor(() => expect(startDryRun).toHaveBeenCalledTimes(3))
  })

  it('follows the job to its report and shows the first failure', async () => {
    const { fake, dryRun } = setup()
    await dryRun.open()
    await dryRun.start(['ItemAdded'])
    fake.emit('jobs', 'updated', jobInfo('j1', { done: 50, total: 100 }))
    expect(dryRun.job?.done).toBe(50)
    fake.emit('jobs', 'updated', jobInfo('other', { kind: 'export', done: 10 }))
    fake.emit('jobs', 'updated', jobInfo('j1', { state: 'succeeded', done: 100, total: 100, result: failing }))
    expect(dryRun.phase).toBe('done')
    expect(dryRun.report?.ok).toBe(false)
    expect(dryRun.totals?.failed).toBe(8)
    expect(dryRun.item).toEqual({ kind: 'failure', index: 0 })
    expect(JSON.parse(dryRun.diff!.original).data.price).toBe('12.50')
    dryRun.show({ kind: 'sample', index: 0 })
    expect(JSON.parse(dryRun.diff!.modified).data.priceCents).toBe(1250)
  })

  it('keeps a report that came before the answer to the start', async () => {
    let fakeRef: ReturnType<typeof fakeClient> | null = null
    const startDryRun = vi.fn(async () => {
      fakeRef!.emit('jobs', 'updated', jobInfo('j1', { state: 'succeeded', result: dryRunReport() }))
      return jobInfo('j1')
    })
    const { fake, dryRun } = setup(startDryRun)
    fakeRef = fake
    await dryRun.open()
    await dryRun.start()
    expect(dryRun.phase).toBe('done')
    expect(dryRun.report?.ok).toBe(true)
  })

  it('cancels a run still going before starting the next one', async () => {
    const startDryRun = vi.fn().mockResolvedValueOnce(jobInfo('j1')).mockResolvedValueOnce(jobInfo('j2'))
    const { cancel, dryRun } = setup(startDryRun)
    await dryRun.open()
    await dryRun.start()
    await dryRun.start()
    expect(cancel).toHaveBeenCalledWith({ jobId: 'j1' })
    expect(dryRun.jobId).toBe('j2')
  })

  it('says why a run gave no report', async () => {
    const { fake, dryRun } = setup()
    await dryRun.open()
    await dryRun.start()
    fake.emit('jobs', 'updated', jobInfo('j1', { state: 'failed', error: { code: 'Untrusted', message: 'This workspace is not trusted' } }))
    expect(dryRun.phase).toBe('failed')
    expect(dryRun.failure).toBe('This workspace is not trusted')
  })

  it('names a start the engine refused', async () => {
    const { dryRun } = setup(vi.fn(() => Promise.reject(new Error('No upcasters to run'))))
    expect(await dryRun.start()).toBe(false)
    expect(dryRun.error).toBe('Could not start a dry-run: No upcasters to run')
    expect(dryRun.phase).toBe('none')
  })

  it('picks up the newest dry-run of the session when the panel opens again', async () => {
    const list = [jobInfo('old', { state: 'succeeded', startedAt: 1, result: dryRunReport() }), jobInfo('new', { state: 'succeeded', startedAt: 2, result: failing })]
    installFakeClient(fakeClient({ jobs: { list: async () => list } }))
    const dryRun = useDryRunStore()
    await dryRun.open()
    expect(dryRun.jobId).toBe('new')
    expect(dryRun.item).toEqual({ kind: 'failure', index: 0 })
  })

  it('drops the report when another workspace is opened', async () => {
    installFakeClient(fakeClient({ jobs: { list: async () => [jobInfo('j1', { state: 'succeeded', result: failing })] } }))
    const workspace = useWorkspaceStore()
    workspace.accept(workspaceState({ path: '/ws/demo' }))
    const dryRun = useDryRunStore()
    await dryRun.open()
    expect(dryRun.report).not.toBeNull()
    workspace.accept(workspaceState({ path: '/ws/demo', revision: 2 }))
    await Promise.resolve()
    expect(dryRun.report).not.toBeNull()
    workspace.accept(workspaceState({ path: '/ws/demo-migrated' }))
    await vi.waitFor(() => expect(dryRun.report).toBeNull())
    expect(dryRun.phase).toBe('none')
  })
})
