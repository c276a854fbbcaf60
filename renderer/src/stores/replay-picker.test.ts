import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, installFakeClient, streamSummary } from './fake-client'
import { useReplayPickerStore } from './replay-picker'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.useRealTimers())

describe('finding a stream to replay', () => {
  it('searches by name and category after a pause in typing, and shows it is searching meanwhile', async () => {
    vi.useFakeTimers()
    const listStreams = vi.fn(async () => ({ streams: [streamSummary('order-7', { eventCount: 4 })], total: 1, next: null }))
    installFakeClient(fakeClient({ store: { listStreams } as never }))
    const picker = useReplayPickerStore()
    picker.update({ text: ' ord' })
    picker.update({ text: ' order-7 ', category: 'order' })
    expect(picker.loading).toBe(true)
    await vi.advanceTimersByTimeAsync(250)
    expect(listStreams).toHaveBeenCalledTimes(1)
    expect(listStreams).toHaveBeenCalledWith({ nameContains: 'order-7', category: 'order', limit: 50 })
    expect(picker.results.map((s) => s.streamId)).toEqual(['order-7'])
    expect(picker.loading).toBe(false)
  })

  it('offers the categories of the log', async () => {
    const stats = async () => ({ categories: [{ category: 'order', streams: 3, events: 9 }, { category: 'cart', streams: 1, events: 2 }] })
    installFakeClient(fakeClient({ store: { stats } as never }))
    const picker = useReplayPickerStore()
    await picker.loadCategories()
    expect(picker.categories).toEqual(['order', 'cart'])
  })
})
