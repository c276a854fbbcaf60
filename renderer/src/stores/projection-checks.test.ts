import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CheckResult } from '../../../shared/contract'
import { RpcError } from '../../../shared/rpc/errors'
import { fakeClient, installFakeClient } from './fake-client'
import { useProjectionChecksStore } from './projection-checks'

beforeEach(() => setActivePinia(createPinia()))

const passed: CheckResult = { check: 'determinism', passed: true, eventsChecked: 3000, firstOffending: null, differences: [] }
const failed: CheckResult = {
  check: 'idempotency',
  passed: false,
  eventsChecked: 12,
  firstOffending: { position: 12, streamId: 'order-7', type: 'OrderPaid' },
  differences: [{ table: 'orders', added: 0, removed: 0, changed: 1, unchanged: 4, samples: { added: [], removed: [], changed: [] } }]
}

describe('projection checks', () => {
  it('runs each check and keeps its result per projection', async () => {
    const check = vi.fn(async (input: { check: string }) => (input.check === 'determinism' ? passed : failed))
    installFakeClient(fakeClient({ projections: { check: check as never } }))
    const checks = useProjectionChecksStore()
    const running = checks.run('order_summary', 'determinism')
    expect(checks.runningOf('order_summary', 'determinism')).toBe(true)
    await running
    await checks.run('order_summary', 'idempotency')
    expect(check).toHaveBeenCalledWith({ projection: 'order_summary', check: 'determinism' })
    expect(checks.resultOf('order_summary', 'determinism')?.passed).toBe(true)
    expect(checks.resultOf('order_summary', 'idempotency')?.firstOffending).toEqual({ position: 12, streamId: 'order-7', type: 'OrderPaid' })
    expect(checks.resultOf('revenue', 'determinism')).toBeNull()
    expect(checks.runningOf('order_summary', 'determinism')).toBe(false)
    checks.dismiss('order_summary', 'idempotency')
    expect(checks.resultOf('order_summary', 'idempotency')).toBeNull()
  })

  it('says why a check could not run', async () => {
    installFakeClient(fakeClient({ projections: { check: () => Promise.reject(new RpcError('Conflict', 'Projection order_summary has a rebuild job running')) } }))
    const checks = useProjectionChecksStore()
    await checks.run('order_summary', 'determinism')
    expect(checks.errorOf('order_summary', 'determinism')).toBe('Could not run the determinism check of order_summary: Projection order_summary has a rebuild job running')
    expect(checks.resultOf('order_summary', 'determinism')).toBeNull()
  })
})
