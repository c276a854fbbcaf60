import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { BranchReport } from '../../../shared/contract'
import { branchInput, changedSteps, failureFor, useSagaBranchStore, type BranchForm } from './saga-branch'
import { fakeClient, installFakeClient, jobInfo, recordedEvent, sagaInstance } from './fake-client'

beforeEach(() => setActivePinia(createPinia()))

const form = (fields: Partial<BranchForm> = {}): BranchForm => ({ position: '', kind: 'event', streamId: 'payment-o-1', type: 'PaymentDeclined', data: '{"orderId":"o-1"}', correlationId: '', seconds: '900', ...fields })

describe('the branch form', () => {
  it('forks at the head by default and appends the event with its data', () => {
    expect(branchInput(form({ correlationId: ' corr-1 ' }), 120)).toEqual({
      ok: true,
      position: 120,
      inject: { kind: 'event', streamId: 'payment-o-1', type: 'PaymentDeclined', data: { orderId: 'o-1' }, correlationId: 'corr-1' }
    })
    expect(branchInput(form({ position: '40', data: '' }), 120)).toMatchObject({ ok: true, position: 40, inject: { data: {} } })
  })

  it('refuses a position past the head, data that is not a JSON object, and a missing stream or type', () => {
    expect(branchInput(form({ position: '121' }), 120)).toMatchObject({ ok: false, field: 'position', error: 'The log ends at position 120' })
    expect(branchInput(form({ position: '-1' }), 120)).toMatchObject({ ok: false, field: 'position' })
    expect(branchInput(form({ data: '{"orderId":' }), 120)).toMatchObject({ ok: false, field: 'data' })
    expect(branchInput(form({ data: '[1]' }), 120)).toMatchObject({ ok: false, field: 'data', error: 'The data is a JSON object' })
    expect(branchInput(form({ streamId: ' ' }), 120)).toMatchObject({ ok: false, field: 'streamId' })
    expect(branchInput(form({ type: '' }), 120)).toMatchObject({ ok: false, field: 'type' })
  })

  it('moves the branch clock on by seconds', () => {
    expect(branchInput(form({ kind: 'advance-clock', seconds: '901' }), 5)).toEqual({ ok: true, position: 5, inject: { kind: 'advance-clock', ms: 901_000 } })
    expect(branchInput(form({ kind: 'advance-clock', seconds: '0' }), 5)).toMatchObject({ ok: false, field: 'seconds' })
  })

  it('is prefilled with an instance’s failure event, in its step’s stream, under its correlation id', () => {
    const prefill = failureFor(sagaInstance('o-7'), { name: 'charge-payment', onFailure: ['PaymentDeclined'] }, 'payment-o-7')
    expect(prefill).toMatchObject({ kind: 'event', streamId: 'payment-o-7', type: 'PaymentDeclined', correlationId: 'corr-o-7' })
    expect(JSON.parse(prefill.data!)).toMatchObject({ orderId: 'o-7' })
  })
})

describe('the branch store', () => {
  const before = sagaInstance('o-1', { current: 'charge-payment', steps: { 'reserve-stock': { state: 'completed', attempts: 1 }, 'charge-payment': { state: 'sent', attempts: 1 } } })
  const after = sagaInstance('o-1', { status: 'compensated', current: null, version: 9, steps: { 'reserve-stock': { state: 'compensated', attempts: 1 }, 'charge-payment': { state: 'failed', attempts: 1 } } })
  const report: BranchReport = {
    position: 120,
    dir: '/tmp/esw-branch-1',
    injected: 'PaymentDeclined appended to payment-o-1',
    changed: [{ before, after }],
    appended: [recordedEvent(122, { type: 'SagaStepFailed', data: { step: 'charge-payment' } })]
  }

  function setup() {
    const startBranch = vi.fn(async () => jobInfo('b1', { kind: 'branch' }))
    const stats = vi.fn(async () => ({ events: 120, streams: 9, headPosition: 120, categories: [], eventTypes: [], databaseBytes: 1 }))
    const fake = fakeClient({ sagas: { startBranch }, store: { stats }, jobs: { cancel: async () => jobInfo('b1', { kind: 'branch', state: 'cancelled' }) } } as never)
    installFakeClient(fake)
    return { fake, startBranch, stats, branch: useSagaBranchStore() }
  }

  it('starts the branch at the head, follows its job to the report, and reads the head again to show the log untouched', async () => {
    const { fake, startBranch, stats, branch } = setup()
    await branch.openDialog({ streamId: 'payment-o-1', type: 'PaymentDeclined', data: '{"orderId":"o-1"}' })
    expect(branch.head).toBe(120)
    expect(await branch.start()).toBe(true)
    expect(startBranch).toHaveBeenCalledWith({ position: 120, inject: { kind: 'event', streamId: 'payment-o-1', type: 'PaymentDeclined', data: { orderId: 'o-1' } } })
    fake.emit('jobs', 'updated', jobInfo('b1', { kind: 'branch', done: 60, total: 120 }))
    fake.emit('jobs', 'updated', jobInfo('other', { kind: 'export' }))
    expect(branch.job?.done).toBe(60)
    expect(branch.report).toBeNull()
    fake.emit('jobs', 'updated', jobInfo('b1', { kind: 'branch', state: 'succeeded', done: 120, total: 120, result: report }))
    expect(branch.report?.changed[0].after.status).toBe('compensated')
    await vi.waitFor(() => expect(branch.headAfter).toBe(120))
    expect(stats).toHaveBeenCalledTimes(3)
    expect(changedSteps(branch.report!.changed[0])).toEqual([
      { step: 'reserve-stock', before: 'completed', after: 'compensated' },
      { step: 'charge-payment', before: 'sent', after: 'failed' }
    ])
  })

  it('does not start with an invalid form, and says why a branch gave no report', async () => {
    const { fake, startBranch, branch } = setup()
    await branch.openDialog({ streamId: '' })
    expect(await branch.start()).toBe(false)
    expect(branch.error).toBe('Name the stream the event goes to')
    expect(startBranch).not.toHaveBeenCalled()
    Object.assign(branch.form, { streamId: 'payment-o-1', type: 'PaymentDeclined' })
    expect(await branch.start()).toBe(true)
    fake.emit('jobs', 'updated', jobInfo('b1', { kind: 'branch', state: 'failed', error: { code: 'UserCodeFailed', message: 'the saga threw' } }))
    expect(branch.failure).toBe('the saga threw')
    branch.closeDialog()
    expect(fake.listenerCount()).toBe(0)
  })
})
