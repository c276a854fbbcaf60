import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, fakeReplay, installFakeClient } from './fake-client'
import { useReplayStore } from './replay'
import { useReplayCompareStore } from './replay-compare'

beforeEach(() => setActivePinia(createPinia()))

async function openOrder(methods = {}) {
  installFakeClient(fakeClient({ replay: fakeReplay('order-1', 5, methods) }))
  const replay = useReplayStore()
  await replay.openStream('order-1', 4)
  return replay
}

describe('comparing two points of a stream', () => {
  it('starts from the event before the scrubbed one and the scrubbed one, and shows both with sorted keys', async () => {
    const stateAt = vi.fn(async (input: { at: { version: number } }) => ({
      streamId: 'order-1',
      decider: 'orders',
      state: { total: input.at.version * 10, status: 'placed' },
      version: input.at.version,
      event: { position: 100 + input.at.version, version: input.at.version, type: 'OrderPaid', id: 'e', recordedAt: 0 },
      snapshotVersion: null,
      eventsFolded: input.at.version,
      streamVersion: 5
    }))
    await openOrder({ stateAt })
    const compare = useReplayCompareStore()
    compare.aroundScrubbed()
    expect([compare.versionA, compare.versionB]).toEqual([3, 4])
    await compare.compare()
    expect(stateAt).toHaveBeenCalledWith({ streamId: 'order-1', decider: 'orders', at: { version: 3 } })
    expect(stateAt).toHaveBeenCalledWith({ streamId: 'order-1', decider: 'orders', at: { version: 4 } })
    expect(compare.left).toMatchObject({ version: 3, event: { version: 3 } })
    expect(compare.leftText).toBe('{\n  "status": "placed",\n  "total": 30\n}')
    expect(compare.rightText).toBe('{\n  "status": "placed",\n  "total": 40\n}')
  })

  it('keeps the versions within the stream', async () => {
    await openOrder()
    const compare = useReplayCompareStore()
    compare.versionA = -2
    compare.versionB = 80
    await compare.compare()
    expect([compare.versionA, compare.versionB]).toEqual([0, 5])
  })

  it('hides a comparison of another stream', async () => {
    const replay = await openOrder()
    const compare = useReplayCompareStore()
    await compare.compare()
    expect(compare.current).toBe(true)
    await replay.openStream('order-2')
    expect(compare.current).toBe(false)
    expect(compare.leftText).toBe('')
  })

  it('says why it could not compare', async () => {
    await openOrder({ stateAt: () => Promise.reject(new Error('The workspace is not trusted')) })
    const compare = useReplayCompareStore()
    await compare.compare()
    expect(compare.error).toBe('Could not compare: The workspace is not trusted')
    expect(compare.loading).toBe(false)
  })
})
