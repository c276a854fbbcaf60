import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, installFakeClient, streamSummary } from './fake-client'
import { useStreamsStore } from './streams'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

describe('the stream list', () => {
  it('lists streams with the filters and keeps the keyset cursor', async () => {
    const listStreams = vi.fn().mockResolvedValue({ streams: [streamSummary('order-1'), streamSummary('order-2')], total: 3, next: 'order-2' })
    installFakeClient(fakeClient({ store: { listStreams } }))
    const streams = useStreamsStore()
    streams.filters.nameContains = ' ord '
    streams.filters.category = 'order'
    await streams.refresh()
    expect(listStreams).toHaveBeenCalledWith({ nameContains: 'ord', category: 'order', eventType: undefined, after: undefined, limit: 200 })
    expect(streams.streams.map((s) => s.streamId)).toEqual(['order-1', 'order-2'])
    expect(streams.total).toBe(3)
    expect(streams.next).toBe('order-2')
  })

  it('loads the next page after the cursor and stops at the end', async () => {
    const listStreams = vi
      .fn()
      .mockResolvedValueOnce({ streams: [streamSummary('a-1')], total: 2, next: 'a-1' })
      .mockResolvedValueOnce({ streams: [streamSummary('a-2')], total: 2, next: null })
    installFakeClient(fakeClient({ store: { listStreams } }))
    const streams = useStreamsStore()
    await streams.refresh()
    await streams.loadMore()
    await streams.loadMore()
    expect(listStreams).toHaveBeenCalledTimes(2)
    expect(listStreams.mock.calls[1][0]).toMatchObject({ after: 'a-1' })
    expect(streams.streams.map((s) => s.streamId)).toEqual(['a-1', 'a-2'])
  })

  it('drops the answer of a query the filters have overtaken', async () => {
    let releaseFirst: (v: unknown) => void = () => {}
    const listStreams = vi
      .fn()
      .mockImplementationOnce(() => new Promise((r) => (releaseFirst = r)))
      .mockResolvedValueOnce({ streams: [streamSummary('cart-1')], total: 1, next: null })
    installFakeClient(fakeClient({ store: { listStreams } }))
    const streams = useStreamsStore()
    const first = streams.refresh()
    streams.filters.category = 'cart'
    await streams.refresh()
    releaseFirst({ streams: [streamSummary('order-1')], total: 1, next: null })
    await first
    expect(streams.streams.map((s) => s.streamId)).toEqual(['cart-1'])
  })

  it('waits for typing to pause before listing with a changed filter', async () => {
    vi.useFakeTimers()
    const listStreams = vi.fn().mockResolvedValue({ streams: [], total: 0, next: null })
    installFakeClient(fakeClient({ store: { listStreams } }))
    const streams = useStreamsStore()
    streams.updateFilters({ nameContains: 'o' })
    streams.updateFilters({ nameContains: 'or' })
    expect(listStreams).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(300)
    expect(listStreams).toHaveBeenCalledTimes(1)
    expect(listStreams.mock.calls[0][0]).toMatchObject({ nameContains: 'or' })
  })

  it('shows why the list could not be read', async () => {
    installFakeClient(fakeClient())
    const streams = useStreamsStore()
    await streams.refresh()
    expect(streams.error).toBe('Could not list streams: Unknown method store.listStreams')
    expect(streams.loading).toBe(false)
  })

  it('moves a stream with new events to the top and adds a new matching stream', async () => {
    vi.useFakeTimers()
    const fake = fakeClient({
      store: {
        listStreams: vi.fn().mockResolvedValue({ streams: [streamSummary('order-1'), streamSummary('order-2')], total: 2, next: null }),
        stats: vi.fn().mockResolvedValue({ events: 2, streams: 2, headPosition: 2, categories: [], eventTypes: [], databaseBytes: 0 }),
        streamInfo: vi.fn(async ({ streamId }: { streamId: string }) => streamSummary(streamId, { eventCount: 5, version: 5 }))
      }
    })
    installFakeClient(fake)
    const streams = useStreamsStore()
    streams.open()
    await vi.advanceTimersByTimeAsync(0)
    fake.emit('store', 'appended', { streamId: 'order-2', firstPosition: 3, lastPosition: 3, count: 1, types: ['OrderShipped'] })
    fake.emit('store', 'appended', { streamId: 'order-9', firstPosition: 4, lastPosition: 4, count: 1, types: ['OrderPlaced'] })
    await vi.advanceTimersByTimeAsync(500)
    expect(streams.streams.map((s) => `${s.streamId}:${s.eventCount}`)).toEqual(['order-9:5', 'order-2:5', 'order-1:1'])
    expect(streams.total).toBe(3)
    streams.close()
    expect(fake.listenerCount()).toBe(0)
  })

  it('leaves out a new stream that the category filter excludes', async () => {
    const fake = fakeClient({ store: { streamInfo: vi.fn(async ({ streamId }: { streamId: string }) => streamSummary(streamId)) } })
    installFakeClient(fake)
    const streams = useStreamsStore()
    streams.filters.category = 'cart'
    streams.open()
    fake.emit('store', 'appended', { streamId: 'order-9', firstPosition: 4, lastPosition: 4, count: 1, types: ['OrderPlaced'] })
    await streams.applyAppends()
    expect(streams.streams).toEqual([])
    streams.close()
  })
})
