import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { RpcError } from '../../../shared/rpc/errors'
import { parseJsonObject, useAppendStore } from './append'
import { fakeClient, installFakeClient } from './fake-client'

beforeEach(() => setActivePinia(createPinia()))

const appended = { streamId: 'order-1', nextExpectedVersion: 4, firstPosition: 10, lastPosition: 10, duplicate: false }

describe('the append form', () => {
  it('checks JSON as it is typed', () => {
    expect(parseJsonObject('{"a":1}', 'data', false)).toEqual({ ok: true, value: { a: 1 } })
    expect(parseJsonObject('', 'metadata', true)).toEqual({ ok: true, value: undefined })
    expect(parseJsonObject('', 'data', false)).toMatchObject({ ok: false, error: 'data: enter a JSON object, e.g. {}' })
    expect(parseJsonObject('[1]', 'data', false)).toMatchObject({ ok: false, error: 'data: must be a JSON object ({...}), not an array' })
    const broken = parseJsonObject('{"a":', 'data', false)
    expect(broken.ok).toBe(false)
    expect(!broken.ok && broken.error.startsWith('data: ')).toBe(true)
  })

  it('cannot be sent while the data is not valid JSON', async () => {
    const append = vi.fn()
    installFakeClient(fakeClient({ store: { append } }))
    const form = useAppendStore()
    form.streamId = 'order-1'
    form.type = 'OrderPlaced'
    form.dataText = '{"total": '
    expect(form.blocker).toMatch(/^data: /)
    await form.send()
    expect(append).not.toHaveBeenCalled()
  })

  it('appends one event with the expected version and metadata', async () => {
    const append = vi.fn().mockResolvedValue(appended)
    installFakeClient(fakeClient({ store: { append } }))
    const form = useAppendStore()
    form.streamId = ' order-1 '
    form.type = 'OrderPlaced'
    form.dataText = '{"total": 12}'
    form.metadataText = '{"correlationId": "c-1"}'
    form.expectedKind = 'exact'
    form.expectedNumber = 3
    await form.send()
    expect(append).toHaveBeenCalledWith({
      streamId: 'order-1',
      expectedVersion: 3,
      events: [{ type: 'OrderPlaced', data: { total: 12 }, metadata: { correlationId: 'c-1' } }]
    })
    expect(form.result).toEqual(appended)
    expect(form.error).toBeNull()
  })

  it('leaves out empty metadata and sends the named expected version', async () => {
    const append = vi.fn().mockResolvedValue(appended)
    installFakeClient(fakeClient({ store: { append } }))
    const form = useAppendStore()
    Object.assign(form, { streamId: 'order-1', type: 'OrderPlaced', dataText: '{}', metadataText: '{}', expectedKind: 'no-stream' })
    await form.send()
    expect(append).toHaveBeenCalledWith({ streamId: 'order-1', expectedVersion: 'no-stream', events: [{ type: 'OrderPlaced', data: {} }] })
  })

  it('names the stream, the expected and the actual version on a conflict', async () => {
    const conflict = new RpcError('WrongExpectedVersion', 'Wrong expected version', { streamId: 'order-1', expected: 0, actual: 3 })
    installFakeClient(fakeClient({ store: { append: () => Promise.reject(conflict) } }))
    const form = useAppendStore()
    Object.assign(form, { streamId: 'order-1', type: 'OrderPlaced', dataText: '{}', expectedKind: 'exact', expectedNumber: 0 })
    await form.send()
    expect(form.conflict).toMatchObject({ streamId: 'order-1', expected: '0', actual: '3' })
    expect(form.conflict?.message).toContain('Version conflict on stream "order-1": expected version 0, but the stream is at version 3.')
    expect(form.error).toBeNull()
  })

  it('shows other errors with their message', async () => {
    installFakeClient(fakeClient({ store: { append: () => Promise.reject(new RpcError('StreamDeleted', 'Stream order-1 is tombstoned')) } }))
    const form = useAppendStore()
    Object.assign(form, { streamId: 'order-1', type: 'OrderPlaced', dataText: '{}' })
    await form.send()
    expect(form.error).toBe('Stream order-1 is tombstoned')
    expect(form.conflict).toBeNull()
    expect(form.sending).toBe(false)
  })
})
