import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RowDiff } from '../../../shared/contract'
import { RpcError } from '../../../shared/rpc/errors'
import { fakeClient, installFakeClient, projectionStatus, workspaceState } from './fake-client'
import { changedColumns, diffTotals, shadowBehind, shadowPhase, useProjectionShadowStore } from './projection-shadow'
import { useProjectionsStore } from './projections'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

const settle = () => new Promise((r) => setTimeout(r, 0))

const diff: RowDiff[] = [
  {
    table: 'orders',
    added: 1,
    removed: 0,
    changed: 2,
    unchanged: 7,
    samples: {
      added: [{ orderId: 'o-11', status: 'placed' }],
      removed: [],
      changed: [
        { before: { orderId: 'o-1', status: 'paid', totalCents: 100 }, after: { orderId: 'o-1', status: 'paid', totalCents: 119 } },
        { before: { orderId: 'o-2', status: 'paid', totalCents: 200 }, after: { orderId: 'o-2', status: 'shipped', totalCents: 238 } }
      ]
    }
  },
  { table: 'lines', added: 0, removed: 3, changed: 0, unchanged: 0, samples: { added: [], removed: [{ id: 1 }], changed: [] } }
]

const running = projectionStatus('order_summary', { job: { kind: 'shadow', done: 10, total: 100 }, shadow: null })
const ready = projectionStatus('order_summary', { shadow: { position: 100, ready: true, fault: null } })

async function setup(methods: Record<string, (input?: never) => Promise<unknown>> = {}) {
  const fake = fakeClient({
    projections: {
      list: async () => [projectionStatus('order_summary'), projectionStatus('revenue', { file: 'projections/revenue.ts' })],
      shadowStart: vi.fn(async () => running),
      shadowDiff: vi.fn(async () => diff),
      ...methods
    }
  })
  installFakeClient(fake)
  const projections = useProjectionsStore()
  await projections.open()
  return { fake, projections, shadow: useProjectionShadowStore() }
}

describe('the phases of a shadow run', () => {
  it('reads none, running and ready from the status', () => {
    expect(shadowPhase(projectionStatus('p'))).toBe('none')
    expect(shadowPhase(running)).toBe('running')
    expect(shadowPhase(projectionStatus('p', { shadow: { position: 10, ready: false, fault: null } }))).toBe('running')
    expect(shadowPhase(ready)).toBe('ready')
    expect(shadowBehind(projectionStatus('p', { headPosition: 120, shadow: { position: 100, ready: true, fault: null } }))).toBe(20)
  })

  it('names the columns a changed row changed and adds up the tables', () => {
    expect(changedColumns({ a: 1, b: 'x', c: { d: 1 } }, { a: 1, b: 'y', c: { d: 2 } })).toEqual(['b', 'c'])
    expect(diffTotals(diff)).toEqual({ added: 1, removed: 3, changed: 2, unchanged: 7 })
  })
})

describe('save → shadow run → diff → promote', () => {
  it('starts a shadow run when a projection file is saved, and reads the diff when it is ready', async () => {
    const { fake, projections, shadow } = await setup()
    const names = await shadow.saved('projections/order_summary.ts')
    expect(names).toEqual(['order_summary'])
    expect(shadow.phase('order_summary')).toBe('running')
    fake.emit('projections', 'status', ready)
    await settle()
    expect(shadow.diffOf('order_summary')).toEqual(diff)
    expect(projections.byName.order_summary.shadow).toEqual({ position: 100, ready: true, fault: null })
  })

  it('starts the run of a file saved while an older run of it goes on once that one ends', async () => {
    const shadowStart = vi.fn(async () => running)
    let listed = projectionStatus('order_summary')
    const { fake, shadow } = await setup({ shadowStart, list: async () => [listed] })
    listed = running
    fake.emit('projections', 'status', running)
    await shadow.saved('projections/order_summary.ts')
    expect(shadowStart).not.toHaveBeenCalled()
    expect(shadow.again).toEqual(['order_summary'])
    fake.emit('projections', 'status', ready)
    await settle()
    expect(shadowStart).toHaveBeenCalledTimes(1)
    expect(shadow.again).toEqual([])
  })

  it('starts a run for a projection file the workspace says changed (saved here or on disk)', async () => {
    const shadowStart = vi.fn(async () => running)
    const { shadow } = await setup({ shadowStart })
    const workspace = useWorkspaceStore()
    const file = (modifiedAt: number) => ({ path: 'projections/order_summary.ts', kind: 'projections' as const, modifiedAt })
    workspace.accept(workspaceState({ revision: 1, files: [file(1)] }))
    workspace.accept(workspaceState({ revision: 2, files: [file(2)] }))
    await vi.waitFor(() => expect(shadowStart).toHaveBeenCalledWith({ projection: 'order_summary' }))
    expect(shadow.lastSaved).toEqual({ path: 'projections/order_summary.ts', names: ['order_summary'] })
  })

  it('only offers a run when starting on save is off', async () => {
    const shadowStart = vi.fn(async () => running)
    const { shadow } = await setup({ shadowStart })
    shadow.onSave = false
    await shadow.saved('projections/revenue.ts')
    expect(shadowStart).not.toHaveBeenCalled()
    expect(shadow.offered).toEqual(['revenue'])
    await shadow.start('revenue')
    expect(shadowStart).toHaveBeenCalledWith({ projection: 'revenue' })
    expect(shadow.offered).toEqual([])
  })

  it('ignores files that define no projection', async () => {
    const shadowStart = vi.fn(async () => running)
    const { shadow } = await setup({ shadowStart })
    expect(await shadow.saved('projections/helpers.ts')).toEqual([])
    expect(shadowStart).not.toHaveBeenCalled()
  })

  it('promotes: the live status comes back and the diff is gone', async () => {
    const shadowPromote = vi.fn(async () => projectionStatus('order_summary'))
    const { fake, shadow, projections } = await setup({ shadowPromote })
    fake.emit('projections', 'status', ready)
    await settle()
    expect(shadow.diffOf('order_summary')).not.toBeNull()
    expect(await shadow.promote('order_summary')).toBe(true)
    expect(shadowPromote).toHaveBeenCalledWith({ projection: 'order_summary' })
    expect(projections.byName.order_summary.shadow).toBeNull()
    expect(shadow.diffOf('order_summary')).toBeNull()
    expect(shadow.promoted?.projection).toBe('order_summary')
  })

  it('discards', async () => {
    const shadowDiscard = vi.fn(async () => projectionStatus('order_summary'))
    const { fake, shadow } = await setup({ shadowDiscard })
    fake.emit('projections', 'status', ready)
    await settle()
    expect(await shadow.discard('order_summary')).toBe(true)
    expect(shadow.diffOf('order_summary')).toBeNull()
    expect(shadow.promoted).toBeNull()
  })

  it('reads a new diff when the shadow is run again', async () => {
    const shadowDiff = vi.fn(async () => diff)
    const { fake } = await setup({ shadowDiff })
    fake.emit('projections', 'status', ready)
    await settle()
    fake.emit('projections', 'status', ready)
    await settle()
    expect(shadowDiff).toHaveBeenCalledTimes(1)
    fake.emit('projections', 'status', running)
    fake.emit('projections', 'status', projectionStatus('order_summary', { headPosition: 120, position: 120, shadow: { position: 120, ready: true, fault: null } }))
    await settle()
    expect(shadowDiff).toHaveBeenCalledTimes(2)
    expect(shadowDiff).toHaveBeenLastCalledWith({ projection: 'order_summary', samples: 10 })
  })

  it('says why a step failed', async () => {
    const { shadow } = await setup({ shadowPromote: () => Promise.reject(new RpcError('NotFound', 'Projection order_summary has no shadow run to promote')) })
    expect(await shadow.promote('order_summary')).toBe(false)
    expect(shadow.error).toEqual({ projection: 'order_summary', message: 'Could not promote the shadow of order_summary: Projection order_summary has no shadow run to promote' })
  })
})
