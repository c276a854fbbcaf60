import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CommandOutcome, DeciderInfo } from '../../../shared/contract'
import { RpcError } from '../../../shared/rpc/errors'
import { commandFailureOf, mergeHistory, parseCommandData, useCommandsStore } from './commands'
import { fakeClient, installFakeClient, recordedEvent, sentCommand, workspaceState } from './fake-client'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

const settle = () => new Promise((r) => setTimeout(r, 0))

const payments: DeciderInfo = {
  name: 'payments',
  streamPrefix: 'payment',
  file: 'domain/payments.ts',
  description: 'Card payments',
  commands: [
    {
      name: 'ChargePayment',
      description: null,
      schema: {
        type: 'object',
        properties: {
          orderId: { type: 'string', minLength: 1 },
          amountCents: { type: 'integer', exclusiveMinimum: 0 },
          note: { type: 'string' }
        },
        required: ['orderId', 'amountCents'],
        additionalProperties: false
      }
    }
  ]
}
const accepted: CommandOutcome = {
  outcome: 'accepted',
  commandId: 'c-1',
  streamId: 'payment-o-1',
  events: [recordedEvent(7, { streamId: 'payment-o-1', type: 'PaymentCharged', version: 1 })],
  repeated: false
}

async function setup(send = vi.fn().mockResolvedValue(accepted), extra: Record<string, (input?: never) => Promise<unknown>> = {}) {
  const fake = fakeClient({
    commands: { deciders: vi.fn().mockResolvedValue([payments]), history: vi.fn().mockResolvedValue([sentCommand('old')]), send, ...extra },
    workspace: { state: vi.fn().mockResolvedValue(workspaceState()), recent: vi.fn().mockResolvedValue([]) }
  })
  installFakeClient(fake)
  await useWorkspaceStore().open()
  const commands = useCommandsStore()
  await commands.open()
  commands.select('payments', 'ChargePayment')
  return { fake, commands, send }
}

describe('the command form', () => {
  it('lists the deciders and the history, and starts a form from the command’s schema', async () => {
    const { commands } = await setup()
    expect(commands.deciders.map((d) => d.name)).toEqual(['payments'])
    expect(commands.history.map((h) => h.commandId)).toEqual(['old'])
    expect(commands.data).toEqual({ orderId: '' })
    expect(commands.blocker).toBe('Fix 2 fields first')
  })

  it('shows the issues of fields as they are typed in, and all of them after a send was tried', async () => {
    const { commands, send } = await setup()
    commands.setData({ orderId: 'o-1', amountCents: 0 })
    expect(commands.fieldIssues).toEqual({})
    commands.touch('amountCents')
    expect(commands.fieldIssues).toEqual({ amountCents: 'Must be greater than 0' })
    commands.setData({ orderId: '', amountCents: 0 })
    await commands.send()
    expect(send).not.toHaveBeenCalled()
    expect(commands.fieldIssues).toEqual({ orderId: 'Must not be empty', amountCents: 'Must be greater than 0' })
  })

  it('sends valid data with the optional ids and shows the events appended', async () => {
    const { commands, send } = await setup()
    commands.setData({ orderId: 'o-1', amountCents: 500, note: '' })
    commands.correlationId = ' corr-1 '
    commands.idempotencyKey = ''
    await commands.send()
    expect(send).toHaveBeenCalledWith({ decider: 'payments', command: 'ChargePayment', data: { orderId: 'o-1', amountCents: 500 }, correlationId: 'corr-1' })
    expect(commands.outcome).toEqual(accepted)
    expect(commands.failure).toBeNull()
    expect(commands.sending).toBe(false)
  })

  it('shows a refusal with its rule', async () => {
    const rejected: CommandOutcome = { outcome: 'rejected', commandId: 'c-2', streamId: 'payment-o-1', rule: 'PaymentLimit', message: 'above the limit', repeated: false }
    const { commands } = await setup(vi.fn().mockResolvedValue(rejected))
    commands.setData({ orderId: 'o-1', amountCents: 500_000 })
    await commands.send()
    expect(commands.outcome).toMatchObject({ outcome: 'rejected', rule: 'PaymentLimit' })
  })

  it('puts the engine’s issues at their fields until the field is changed', async () => {
    const invalid = new RpcError('InvalidInput', 'Invalid ChargePayment command: orderId: Too short', { issues: [{ path: 'orderId', message: 'Too short' }] })
    const { commands } = await setup(vi.fn().mockRejectedValue(invalid))
    commands.setData({ orderId: 'o', amountCents: 5 })
    await commands.send()
    expect(commands.failure).toMatchObject({ code: 'InvalidInput', issues: [{ path: 'orderId', message: 'Too short' }] })
    expect(commands.fieldIssues).toEqual({ orderId: 'Too short' })
    commands.setData({ orderId: 'o', amountCents: 6 })
    expect(commands.fieldIssues).toEqual({ orderId: 'Too short' })
    commands.setData({ orderId: 'o-1', amountCents: 6 })
    expect(commands.fieldIssues).toEqual({})
  })

  it('names the file and line where the decider failed', async () => {
    const failed = new RpcError('UserCodeFailed', 'payments.ChargePayment: boom (domain/payments.ts:52:9)', { file: 'domain/payments.ts', line: 52, column: 9 })
    const { commands } = await setup(vi.fn().mockRejectedValue(failed))
    commands.setData({ orderId: 'o-1', amountCents: 5 })
    await commands.send()
    expect(commands.failure).toEqual({ code: 'UserCodeFailed', message: failed.message, issues: [], location: { file: 'domain/payments.ts', line: 52, column: 9 } })
  })

  it('edits the data as JSON, and sends it for the engine to judge', async () => {
    const { commands, send } = await setup()
    commands.setData({ orderId: 'o-1', amountCents: 5, note: '' })
    expect(commands.setMode('json')).toBe(true)
    expect(JSON.parse(commands.jsonText)).toEqual({ orderId: 'o-1', amountCents: 5 })
    commands.jsonText = '{"orderId": '
    expect(commands.blocker).toMatch(/^Not valid JSON/)
    expect(commands.setMode('form')).toBe(false)
    commands.jsonText = '{"orderId": "", "amountCents": -1}'
    expect(commands.issues.map((i) => i.path)).toEqual(['orderId', 'amountCents'])
    expect(commands.blocker).toBeNull()
    await commands.send()
    expect(send).toHaveBeenCalledWith({ decider: 'payments', command: 'ChargePayment', data: { orderId: '', amountCents: -1 } })
    expect(commands.setMode('form')).toBe(true)
    expect(commands.data).toEqual({ orderId: '', amountCents: -1 })
    expect(commands.fieldIssues).toMatchObject({ orderId: 'Must not be empty' })
  })

  it('keeps the history newest first and loads an entry back into the form', async () => {
    const { fake, commands } = await setup()
    const entry = sentCommand('new', { sentAt: Date.UTC(2025, 0, 2), data: { orderId: 'o-9', amountCents: 99 } })
    fake.emit('commands', 'sent', entry)
    fake.emit('commands', 'sent', entry)
    expect(commands.history.map((h) => h.commandId)).toEqual(['new', 'old'])
    commands.resend(entry)
    expect(commands.data).toEqual({ orderId: 'o-9', amountCents: 99 })
    expect(commands.commandName).toBe('ChargePayment')
  })

  it('lists the deciders again when the code changes, and starts over in another workspace', async () => {
    const deciders = vi.fn().mockResolvedValue([payments])
    const history = vi.fn().mockResolvedValue([sentCommand('old')])
    const fake = fakeClient({
      commands: { deciders, history },
      workspace: { state: vi.fn().mockResolvedValue(workspaceState()), recent: vi.fn().mockResolvedValue([]) }
    })
    installFakeClient(fake)
    await useWorkspaceStore().open()
    const commands = useCommandsStore()
    await commands.open()
    commands.select('payments', 'ChargePayment')
    fake.emit('workspace', 'changed', workspaceState({ revision: 2 }))
    await settle()
    expect(deciders).toHaveBeenCalledTimes(2)
    expect(history).toHaveBeenCalledTimes(1)
    expect(commands.commandName).toBe('ChargePayment')

    deciders.mockResolvedValue([])
    history.mockResolvedValue([])
    fake.emit('workspace', 'changed', workspaceState({ path: '/ws/other', revision: 1 }))
    await settle()
    await settle()
    expect(commands.history).toEqual([])
    expect(commands.commandName).toBeNull()
    commands.close()
    expect(fake.listenerCount()).toBe(1)
  })
})

describe('command helpers', () => {
  it('read the facts of an error', () => {
    expect(commandFailureOf(new RpcError('InvalidInput', 'bad', { issues: [{ path: '(root)', message: 'Expected object' }] }))).toEqual({
      code: 'InvalidInput',
      message: 'bad',
      issues: [{ path: '', message: 'Expected object' }],
      location: null
    })
    expect(commandFailureOf(new Error('socket closed'))).toMatchObject({ code: 'Internal', message: 'socket closed' })
  })

  it('parse the JSON editor as an object only', () => {
    expect(parseCommandData('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } })
    expect(parseCommandData('[1]')).toEqual({ ok: false, error: 'The data must be a JSON object ({...})' })
  })

  it('merge history entries by command id, newest first', () => {
    const a = sentCommand('a', { sentAt: 1 })
    const b = sentCommand('b', { sentAt: 2 })
    expect(mergeHistory([a], [b, a]).map((c) => c.commandId)).toEqual(['b', 'a'])
  })
})
