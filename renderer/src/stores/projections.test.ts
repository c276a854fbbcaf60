import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RpcError } from '../../../shared/rpc/errors'
import { fakeClient, installFakeClient, projectionDescriptor, projectionStatus, workspaceState } from './fake-client'
import { measuredRate, pushSample, SAMPLES, useProjectionsStore, withProgress } from './projections'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

const settle = () => new Promise((r) => setTimeout(r, 0))

async function setup(methods: Record<string, (input?: never) => Promise<unknown>> = {}) {
  const fake = fakeClient({
    projections: {
      list: async () => [projectionStatus('order_summary'), projectionStatus('customer_history', { state: 'running', position: 40, lagEvents: 60 })],
      ...methods
    }
  })
  installFakeClient(fake)
  const projections = useProjectionsStore()
  await projections.open()
  return { fake, projections }
}

describe('throughput samples', () => {
  it('measures events per second between two readings of the same counter', () => {
    expect(measuredRate({ at: 0, kind: 'live', value: 100 }, { at: 500, kind: 'live', value: 600 })).toBe(1000)
    expect(measuredRate(undefined, { at: 500, kind: 'live', value: 600 })).toBe(0)
    // A job started (another counter) or a reset went back: no rate for that second.
    expect(measuredRate({ at: 0, kind: 'live', value: 100 }, { at: 1000, kind: 'job:rebuild', value: 600 })).toBe(0)
    expect(measuredRate({ at: 0, kind: 'live', value: 100 }, { at: 1000, kind: 'live', value: 0 })).toBe(0)
  })

  it('keeps the last minute of samples', () => {
    let samples: number[] = []
    for (let i = 0; i < SAMPLES + 5; i++) samples = pushSample(samples, i)
    expect(samples).toHaveLength(SAMPLES)
    expect(samples[0]).toBe(5)
    expect(samples[SAMPLES - 1]).toBe(SAMPLES + 4)
  })

  it('samples the live position once a second while open, and a running job instead of it', async () => {
    vi.useFakeTimers({ now: 0 })
    const { fake, projections } = await setup()
    projections.sample(0)
    fake.emit('projections', 'status', projectionStatus('customer_history', { state: 'running', position: 90, lagEvents: 10 }))
    projections.sample(1000)
    expect(projections.samples.customer_history).toEqual([0, 50])
    expect(projections.samples.order_summary).toEqual([0, 0])
    fake.emit('projections', 'status', projectionStatus('order_summary', { state: 'rebuilding', job: { kind: 'rebuild', done: 0, total: 1000 } }))
    projections.sample(2000)
    fake.emit('projections', 'progress', { projection: 'order_summary', kind: 'rebuild', done: 400, total: 1000 })
    projections.sample(2500)
    expect(projections.samples.order_summary.slice(-1)).toEqual([800])
    // The timer samples on its own.
    vi.advanceTimersByTime(3000)
    expect(projections.samples.order_summary.length).toBeGreaterThanOrEqual(7)
    projections.close()
    const before = projections.samples.order_summary.length
    vi.advanceTimersByTime(3000)
    expect(projections.samples.order_summary.length).toBe(before)
  })
})

describe('the projections list', () => {
  it('lists projections by name and follows their status events', async () => {
    const { fake, projections } = await setup()
    expect(projections.statuses.map((s) => s.name)).toEqual(['customer_history', 'order_summary'])
    fake.emit('projections', 'status', projectionStatus('customer_history', { position: 100, lagEvents: 0 }))
    expect(projections.byName.customer_history).toMatchObject({ state: 'caught-up', position: 100 })
    // A projection that appears (new code) is listed in order.
    fake.emit('projections', 'status', projectionStatus('inventory_levels'))
    expect(projections.statuses.map((s) => s.name)).toEqual(['customer_history', 'inventory_levels', 'order_summary'])
    projections.close()
    expect(fake.listenerCount()).toBe(0)
  })

  it('folds progress events into the running job', async () => {
    const { fake, projections } = await setup()
    fake.emit('projections', 'status', projectionStatus('order_summary', { state: 'rebuilding', job: { kind: 'rebuild', done: 0, total: null } }))
    fake.emit('projections', 'progress', { projection: 'order_summary', kind: 'rebuild', done: 250, total: 1000 })
    expect(projections.byName.order_summary.job).toEqual({ kind: 'rebuild', done: 250, total: 1000 })
    // A status event from before the progress does not undo it; the job's end clears it.
    fake.emit('projections', 'status', projectionStatus('order_summary', { state: 'rebuilding', job: { kind: 'rebuild', done: 100, total: 1000 } }))
    expect(projections.byName.order_summary.job?.done).toBe(250)
    fake.emit('projections', 'status', projectionStatus('order_summary'))
    expect(projections.byName.order_summary.job).toBeNull()
    expect(withProgress(projectionStatus('x'), { kind: 'rebuild', done: 1, total: 2 }).job).toBeNull()
  })

  it('lists again when the code changes', async () => {
    const list = vi.fn(async () => [projectionStatus('order_summary')])
    installFakeClient(fakeClient({ projections: { list } }))
    const workspace = useWorkspaceStore()
    workspace.state = workspaceState({ revision: 1 })
    const projections = useProjectionsStore()
    await projections.open()
    expect(list).toHaveBeenCalledTimes(1)
    workspace.state = workspaceState({ revision: 2 })
    await settle()
    expect(list).toHaveBeenCalledTimes(2)
  })

  it('reads the definitions in use again when the code changes', async () => {
    let version = 1
    const describe = vi.fn(async () => ({ descriptor: projectionDescriptor('order_summary', { description: `v${version}` }), status: projectionStatus('order_summary') }))
    installFakeClient(fakeClient({ projections: { list: async () => [projectionStatus('order_summary')], describe } }))
    const projections = useProjectionsStore()
    await projections.open()
    await projections.describe('order_summary')
    version = 2
    await projections.load()
    await settle()
    expect(describe).toHaveBeenCalledTimes(2)
    expect(projections.descriptors.order_summary.description).toBe('v2')
  })

  it('says why it could not list', async () => {
    const { projections } = await setup({ list: () => Promise.reject(new RpcError('Internal', 'database is locked')) })
    expect(projections.error).toBe('Could not list the projections: database is locked')
  })
})

describe('actions', () => {
  it('runs an action and shows the status it answers', async () => {
    const pause = vi.fn(async () => projectionStatus('order_summary', { state: 'paused' }))
    const { projections } = await setup({ pause })
    const done = projections.act('order_summary', 'pause')
    expect(projections.busy.order_summary).toBe('pause')
    expect(await done).toBe(true)
    expect(pause).toHaveBeenCalledWith({ projection: 'order_summary' })
    expect(projections.byName.order_summary.state).toBe('paused')
    expect(projections.busy).toEqual({})
  })

  it('says which action failed on which projection', async () => {
    const { projections } = await setup({ rebuild: () => Promise.reject(new RpcError('Conflict', 'Projection order_summary has a shadow job running')) })
    expect(await projections.act('order_summary', 'rebuild')).toBe(false)
    expect(projections.actionError).toEqual({ projection: 'order_summary', message: 'Could not rebuild order_summary: Projection order_summary has a shadow job running' })
  })

  it('selects a projection and reads its definition once', async () => {
    const describe = vi.fn(async () => ({ descriptor: projectionDescriptor('order_summary'), status: projectionStatus('order_summary') }))
    const { projections } = await setup({ describe })
    projections.select('order_summary')
    await settle()
    expect(projections.current?.name).toBe('order_summary')
    expect(projections.currentDescriptor?.tables.orders.key).toEqual(['orderId'])
    await projections.describe('order_summary')
    expect(describe).toHaveBeenCalledTimes(1)
  })
})
