import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { RpcError } from '../../../shared/rpc/errors'
import { causationIdOf, correlationIdOf, useEventDetailStore } from './event-detail'
import { fakeClient, installFakeClient, recordedEvent } from './fake-client'

beforeEach(() => setActivePinia(createPinia()))

const cause = recordedEvent(1, { id: 'cause-id', metadata: { correlationId: 'c-1' } })
const effect = recordedEvent(2, { metadata: { correlationId: 'c-1', causationId: 'cause-id' } })

describe('the event detail', () => {
  it('reads correlation and causation ids from metadata only when they are strings', () => {
    expect(correlationIdOf(effect)).toBe('c-1')
    expect(causationIdOf(effect)).toBe('cause-id')
    expect(causationIdOf(recordedEvent(3, { metadata: { causationId: 42 } }))).toBeNull()
    expect(correlationIdOf(recordedEvent(3))).toBeNull()
  })

  it('opens the causing event by id and goes back to the effect', async () => {
    const readEvent = vi.fn().mockResolvedValue(cause)
    installFakeClient(fakeClient({ store: { readEvent } }))
    const detail = useEventDetailStore()
    detail.show(effect)
    await detail.openCause()
    expect(readEvent).toHaveBeenCalledWith({ id: 'cause-id' })
    expect(detail.event?.position).toBe(1)
    expect(detail.trail.map((e) => e.position)).toEqual([2])
    detail.back()
    expect(detail.event?.position).toBe(2)
    expect(detail.trail).toEqual([])
  })

  it('says so when the cause is not in the store', async () => {
    installFakeClient(fakeClient({ store: { readEvent: () => Promise.reject(new RpcError('NotFound', 'No event with id cause-id')) } }))
    const detail = useEventDetailStore()
    detail.show(effect)
    await detail.openCause()
    expect(detail.error).toBe('The causing event cause-id is not in the store.')
    expect(detail.event?.position).toBe(2)
  })

  it('lists the events that share the correlation id', async () => {
    const readAll = vi.fn().mockResolvedValue({ events: [cause, effect], next: null, headPosition: 2 })
    installFakeClient(fakeClient({ store: { readAll } }))
    const detail = useEventDetailStore()
    detail.show(effect)
    await detail.listCorrelated()
    expect(readAll).toHaveBeenCalledWith({ filter: { correlationId: 'c-1' }, limit: 100 })
    expect(detail.correlated).toMatchObject({ correlationId: 'c-1', more: false })
    expect(detail.correlated?.events).toHaveLength(2)
    detail.showCorrelated(cause)
    expect(detail.correlated?.correlationId).toBe('c-1')
    detail.show(recordedEvent(9))
    expect(detail.correlated).toBeNull()
  })
})
