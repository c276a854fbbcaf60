import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SchemaDrift, UpcasterRegistry } from '../../../shared/contract'
import { eventSchema, fakeClient, installFakeClient, upcasterStep, workspaceState } from './fake-client'
import { RELOAD_DELAY_MS, typeSummaries, useVersioningStore } from './versioning'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

const schemas = [
  eventSchema('CartOpened', 1, 40),
  eventSchema('ItemAdded', 1, 98, ['cartId', 'price']),
  eventSchema('ItemAdded', 2, 300, ['cartId', 'priceCents']),
  eventSchema('OrderPlaced', 1, 30)
]
const registry: UpcasterRegistry = {
  steps: [upcasterStep('ItemAdded', 1, 2, { file: 'upcasters/item-added.ts', description: 'price → priceCents' })],
  problems: [
    { file: 'upcasters/orders.ts', exportName: 'default', eventType: 'OrderPlaced', message: 'OrderPlaced: no upcaster from v1 to v3' },
    { file: 'upcasters/empty.ts', exportName: 'default', eventType: null, message: 'upcasters/empty.ts: an upcaster needs eventType' }
  ]
}
const drift: SchemaDrift = { type: 'ItemAdded', versions: [1, 2], bucketDays: 1, buckets: [{ start: 0, end: 86_400_000, counts: [3, 1], total: 4 }] }

function setup(methods: Record<string, (input?: never) => Promise<unknown>> = {}) {
  const fake = fakeClient({
    versioning: { schemas: vi.fn(async () => schemas), drift: vi.fn(async () => drift), ...methods },
    upcasters: { registry: vi.fn(async () => registry) }
  })
  installFakeClient(fake)
  return { fake, versioning: useVersioningStore() }
}

describe('the event types of the log', () => {
  it('puts types with several versions, upcasters or refused chains first, each with its versions and count', () => {
    const types = typeSummaries(schemas, registry)
    expect(types.map((t) => [t.type, t.versions, t.count, t.evolving])).toEqual([
      ['ItemAdded', [1, 2], 398, true],
      ['OrderPlaced', [1], 30, true],
      ['CartOpened', [1], 40, false]
    ])
    expect(types[0].steps.map((s) => s.file)).toEqual(['upcasters/item-added.ts'])
    expect(types[1].problems[0].message).toContain('no upcaster from v1 to v3')
  })

  it('lists a type that only a rename reads into, and types with upcasters but no events yet', () => {
    const types = typeSummaries([eventSchema('ItemAdded', 1, 5)], {
      steps: [upcasterStep('ItemAdded', 1, 1, { toType: 'CartLineAdded' }), upcasterStep('Legacy', 1, 2)],
      problems: []
    })
    expect(types.map((t) => t.type)).toEqual(['CartLineAdded', 'ItemAdded', 'Legacy'])
    expect(types[0].incoming).toHaveLength(1)
    expect(types[2].count).toBe(0)
  })
})

describe('the versioning store', () => {
  it('reads the schemas and the upcasters, and the drift of the selected type', async () => {
    const { versioning } = setup()
    await versioning.open()
    expect(versioning.types.map((t) => t.type)).toEqual(['ItemAdded', 'OrderPlaced', 'CartOpened'])
    expect(versioning.looseProblems.map((p) => p.file)).toEqual(['upcasters/empty.ts'])
    versioning.select('ItemAdded')
    await vi.waitFor(() => expect(versioning.currentDrift).toEqual(drift))
    expect(versioning.currentSchemas.map((s) => s.schemaVersion)).toEqual([1, 2])
    expect(versioning.current?.steps).toHaveLength(1)
    expect(versioning.typeOfFile('upcasters/item-added.ts')).toBe('ItemAdded')
    expect(versioning.typeOfFile('upcasters/orders.ts')).toBe('OrderPlaced')
    expect(versioning.typeOfFile('upcasters/none.ts')).toBeNull()
  })

  it('asks for the drift in the number of buckets the chart draws', async () => {
    const driftCall = vi.fn(async () => drift)
    const { versioning } = setup({ drift: driftCall })
    await versioning.open()
    versioning.select('ItemAdded')
    await vi.waitFor(() => expect(driftCall).toHaveBeenCalledWith({ type: 'ItemAdded', buckets: 60 }))
  })

  it('reads the shapes again once a burst of new events settles, and stops following on close', async () => {
    const schemasCall = vi.fn(async () => schemas)
    const { fake, versioning } = setup({ schemas: schemasCall })
    await versioning.open()
    vi.useFakeTimers()
    fake.emit('versioning', 'updated', { position: 10, types: ['ItemAdded'] })
    fake.emit('versioning', 'updated', { position: 11, types: ['ItemAdded'] })
    expect(schemasCall).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(RELOAD_DELAY_MS + 10)
    expect(schemasCall).toHaveBeenCalledTimes(2)
    versioning.close()
    expect(fake.listenerCount()).toBe(0)
  })

  it('reads the upcasters again when the workspace revision changes (a saved upcaster file)', async () => {
    const registryCall = vi.fn(async () => registry)
    const fake = fakeClient({ versioning: { schemas: async () => schemas, drift: async () => drift }, upcasters: { registry: registryCall } })
    installFakeClient(fake)
    const workspace = useWorkspaceStore()
    workspace.accept(workspaceState({ revision: 1 }))
    const versioning = useVersioningStore()
    await versioning.open()
    expect(registryCall).toHaveBeenCalledTimes(1)
    workspace.accept(workspaceState({ revision: 2 }))
    await vi.waitFor(() => expect(registryCall).toHaveBeenCalledTimes(2))
  })

  it('names what could not be read', async () => {
    const fake = fakeClient({ versioning: { schemas: () => Promise.reject(new Error('database is locked')) }, upcasters: { registry: () => Promise.reject(new Error('Untrusted workspace')) } })
    installFakeClient(fake)
    const versioning = useVersioningStore()
    await versioning.open()
    expect(versioning.error).toBe('Could not read the event schemas: database is locked')
    expect(versioning.registryError).toBe('Could not list the upcasters: Untrusted workspace')
  })
})
