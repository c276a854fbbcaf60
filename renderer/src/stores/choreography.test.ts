import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CausationGraph } from '../../../shared/contract'
import { categoriesOf, useChoreographyStore } from './choreography'
import { fakeClient, installFakeClient, recordedEvent } from './fake-client'

beforeEach(() => setActivePinia(createPinia()))

const placed = recordedEvent(10, { id: 'placed', streamId: 'order-o-1', type: 'OrderPlaced' })
const reserved = recordedEvent(12, { id: 'reserved', streamId: 'inventory-tea', type: 'StockReserved' })
const started = recordedEvent(11, { id: 'started', streamId: 'saga-order_fulfilment-o-1', type: 'SagaStarted' })
const graph: CausationGraph = {
  correlationId: 'corr-1',
  nodes: [reserved, started, placed].map((event) => ({ id: event.id, event })),
  edges: [
    { from: 'placed', to: 'started', command: null, commandId: null },
    { from: 'started', to: 'reserved', command: 'inventory.ReserveStock', commandId: 'c-1' }
  ],
  truncated: false
}

describe('the choreography store', () => {
  it('follows a correlation id and draws its events and causes', async () => {
    const choreography = vi.fn(async () => graph)
    installFakeClient(fakeClient({ sagas: { choreography } } as never))
    const store = useChoreographyStore()
    expect(await store.follow(' corr-1 ')).toBe(true)
    expect(choreography).toHaveBeenCalledWith({ correlationId: 'corr-1', limit: 300 })
    expect(store.picture?.edges.filter((e) => e.kind === 'caused').map((e) => e.label)).toEqual(['', 'inventory.ReserveStock'])
    expect(store.categories).toEqual(['order', 'saga', 'inventory'])
    store.selectEvent('reserved')
    expect(store.selected?.type).toBe('StockReserved')
  })

  it('asks for an id, and says when no event carries it', async () => {
    const choreography = vi.fn(async () => ({ ...graph, nodes: [], edges: [] }))
    installFakeClient(fakeClient({ sagas: { choreography } } as never))
    const store = useChoreographyStore()
    expect(await store.follow('')).toBe(false)
    expect(store.error).toContain('Enter a correlation id')
    expect(choreography).not.toHaveBeenCalled()
    await store.follow('nothing')
    expect(store.error).toBe('No event carries the correlation id nothing')
    expect(categoriesOf(null)).toEqual([])
  })
})
