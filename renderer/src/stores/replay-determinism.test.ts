import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClient, fakeReplay, installFakeClient } from './fake-client'
import { useReplayStore } from './replay'
import { useReplayDeterminismStore } from './replay-determinism'

beforeEach(() => setActivePinia(createPinia()))

async function openOrder(methods = {}) {
  installFakeClient(fakeClient({ replay: fakeReplay('order-1', 5, methods) }))
  const replay = useReplayStore()
  await replay.openStream('order-1')
  return replay
}

describe('checking determinism', () => {
  it('reports a deterministic replay for the stream and decider it checked', async () => {
    const checkDeterminism = vi.fn(async () => ({ deterministic: true, eventsChecked: 5, divergence: null }))
    const replay = await openOrder({ checkDeterminism })
    const determinism = useReplayDeterminismStore()
    await determinism.run()
    expect(checkDeterminism).toHaveBeenCalledWith({ streamId: 'order-1', decider: 'orders' })
    expect(determinism.result).toMatchObject({ deterministic: true, eventsChecked: 5 })
    await replay.openStream('order-2')
    expect(determinism.result).toBeNull()
  })

  it('reports the first event where two replays differ', async () => {
    const divergence = {
      event: { position: 103, version: 3, type: 'OrderPaid', id: 'e-3', recordedAt: 0 },
      changes: [{ kind: 'changed' as const, path: ['paidAt'], before: 1, after: 2 }]
    }
    await openOrder({ checkDeterminism: async () => ({ deterministic: false, eventsChecked: 3, divergence }) })
    const determinism = useReplayDeterminismStore()
    await determinism.run()
    expect(determinism.result).toMatchObject({ deterministic: false, divergence })
  })

  it('says why the check could not run', async () => {
    await openOrder({ checkDeterminism: () => Promise.reject(new Error('The determinism check needs a trusted workspace')) })
    const determinism = useReplayDeterminismStore()
    await determinism.run()
    expect(determinism.error).toBe('Could not check determinism: The determinism check needs a trusted workspace')
    expect(determinism.checking).toBe(false)
  })
})
