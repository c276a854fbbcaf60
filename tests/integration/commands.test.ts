import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { contract } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import { createMemoryPair } from '../../shared/rpc/memory'
import { serve } from '../../shared/rpc/server'
import { openWorkbench, type Workbench } from '../../main/services'
import { TrustRegistry } from '../../main/workspace/trust'

const counter = (limit: number) => `import { defineDecider, reject, z } from 'workbench'

type State = { total: number; opened: boolean }

export default defineDecider<State>({
  name: 'counters',
  streamPrefix: 'counter',
  commands: {
    Open: z.object({ id: z.string().min(1) }),
    Add: z.object({ id: z.string().min(1), amount: z.number().int().positive(), note: z.string().optional() })
  },
  streamId: (command) => 'counter-' + String(command.data.id),
  initialState: () => ({ total: 0, opened: false }),
  evolve: (state, event) => {
    if (event.type === 'Opened') return { ...state, opened: true }
    if (event.type === 'Added') return { ...state, total: state.total + Number(event.data.amount) }
    return state
  },
  decide: (command, state) => {
    if (command.type === 'Open') {
      if (state.opened) reject('AlreadyOpen', 'counter ' + command.data.id + ' is open already')
      return { type: 'Opened', data: { id: command.data.id } }
    }
    if (!state.opened) reject('NotOpen', 'open the counter first')
    const amount = Number(command.data.amount)
    if (state.total + amount > ${limit}) reject('Limit', 'a counter stops at ${limit}; it is at ' + state.total)
    return { type: 'Added', data: { amount, at: Date.now() } }
  }
})
`

let home: string
let workbench: Workbench
let client: ReturnType<typeof connect<typeof contract>>
let trust: TrustRegistry

async function start(workspaceDir: string) {
  workbench = await openWorkbench({ host: 'test', workspaceDir, trust })
  const [a, b] = createMemoryPair()
  serve(workbench.contract, workbench.implementation, a, { events: workbench.events })
  client = connect(contract, b)
}

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-cmd-'))
  trust = new TrustRegistry(join(home, 'home'))
  await start(join(home, 'ws'))
  await client.workspace.saveFile({ path: 'domain/counters.ts', source: counter(10) })
})
afterEach(async () => {
  client.close()
  await workbench.close()
  rmSync(home, { recursive: true, force: true })
})

const events = async () => (await client.store.readAll({ limit: 1000 })).events

describe('commands through deciders', () => {
  it('lists deciders with the JSON Schema of each command', async () => {
    const [d] = await client.commands.deciders()
    expect(d).toMatchObject({ name: 'counters', streamPrefix: 'counter', file: 'domain/counters.ts' })
    const add = d.commands.find((c) => c.name === 'Add')!
    expect(add.schema).toMatchObject({ type: 'object', properties: { amount: { type: 'integer' } }, required: ['id', 'amount'] })
  })

  it('validates, loads, folds, decides and appends with correlation and causation ids', async () => {
    const opened = await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'a' }, correlationId: 'corr-1' })
    expect(opened).toMatchObject({ outcome: 'accepted', streamId: 'counter-a', events: [{ type: 'Opened', version: 1 }] })
    const added = await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 4 } })
    expect(added.outcome).toBe('accepted')
    const [, second] = (await client.store.readStream({ streamId: 'counter-a' })).events
    expect(second.metadata).toMatchObject({ commandId: added.commandId, causationId: added.commandId, correlationId: added.commandId })
    expect((await client.store.readStream({ streamId: 'counter-a' })).events[0].metadata).toMatchObject({ correlationId: 'corr-1' })
  })

  it('answers a missing field, a wrong type and an unknown command each with its own clear error, appending nothing', async () => {
    await expect(client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a' } })).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringMatching(/Invalid Add command: amount: .*expected number/) })
    await expect(client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 'four' } })).rejects.toMatchObject({
      code: 'InvalidInput',
      details: { issues: [{ path: 'amount' }] }
    })
    await expect(client.commands.send({ decider: 'counters', command: 'Subtract', data: { id: 'a' } })).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('has no command Subtract; it has Open, Add') })
    await expect(client.commands.send({ decider: 'nope', command: 'Add', data: {} })).rejects.toMatchObject({ code: 'NotFound' })
    expect(await events()).toEqual([])
    const history = await client.commands.history()
    expect(history.map((h) => h.outcome)).toEqual(['failed', 'invalid', 'invalid', 'invalid'])
  })

  it('returns a business rule rejection with the rule, and appends nothing', async () => {
    const outcome = await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 1 } })
    expect(outcome).toMatchObject({ outcome: 'rejected', rule: 'NotOpen', message: 'open the counter first' })
    expect(await events()).toEqual([])
  })

  it('takes a saved rule change at once', async () => {
    await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'a' } })
    expect((await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 6 } })).outcome).toBe('accepted')
    await client.workspace.saveFile({ path: 'domain/counters.ts', source: counter(5) })
    expect(await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 1 } })).toMatchObject({ outcome: 'rejected', rule: 'Limit', message: 'a counter stops at 5; it is at 6' })
  })

  it('returns the first outcome again for a repeated idempotency key', async () => {
    await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'a' } })
    const first = await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 2 }, idempotencyKey: 'k-1' })
    const again = await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 2 }, idempotencyKey: 'k-1' })
    expect(again).toEqual({ ...first, repeated: true })
    expect(await events()).toHaveLength(2)
  })

  it('retries on a version conflict and decides on the fresh state', async () => {
    await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'a' } })
    await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 1 } })
    // Another writer appends behind the bus's cached state.
    await client.store.append({ streamId: 'counter-a', events: [{ type: 'Added', data: { amount: 8 } }] })
    const outcome = await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'a', amount: 2 } })
    expect(outcome).toMatchObject({ outcome: 'rejected', rule: 'Limit', message: 'a counter stops at 10; it is at 9' })
  })

  it('reports a runtime error in decide with its line in the TypeScript file', async () => {
    await client.workspace.saveFile({ path: 'domain/counters.ts', source: counter(10).replace("return { type: 'Opened', data: { id: command.data.id } }", "throw new Error('boom on purpose')") })
    const error = await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'z' } }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'UserCodeFailed', details: { file: 'domain/counters.ts', line: 22 } })
  })

  it('shows a file that does not load as a problem with its line, and keeps the others', async () => {
    const state = await client.workspace.saveFile({ path: 'domain/broken.ts', source: 'export const x = (\n' })
    expect(state.problems).toEqual([expect.objectContaining({ file: 'domain/broken.ts', line: expect.any(Number), severity: 'error' })])
    expect(state.definitions.map((d) => d.name)).toEqual(['counters'])
  })

  it('picks up a definition file changed on disk by another editor within a second', async () => {
    const changed = new Promise((resolve) => client.workspace.on('changed', resolve))
    await new Promise((r) => setTimeout(r, 20))
    writeFileSync(join(home, 'ws', 'domain', 'counters.ts'), counter(3))
    const started = Date.now()
    await changed
    expect(Date.now() - started).toBeLessThan(1000)
    await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'b' } })
    expect(await client.commands.send({ decider: 'counters', command: 'Add', data: { id: 'b', amount: 4 } })).toMatchObject({ rule: 'Limit' })
  })
})

describe('workspace trust', () => {
  it('runs no code from a folder opened for the first time, until the user trusts it', async () => {
    const foreign = join(home, 'from-elsewhere')
    mkdirSync(join(foreign, 'domain'), { recursive: true })
    writeFileSync(join(foreign, 'domain', 'counters.ts'), counter(10))
    const state = await client.workspace.open({ path: foreign })
    expect(state).toMatchObject({ trusted: false, definitions: [] })
    expect(state.files.map((f) => f.path)).toEqual(['domain/counters.ts'])
    await expect(client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'a' } })).rejects.toMatchObject({ code: 'Untrusted' })
    expect((await client.store.stats()).events).toBe(0)
    const trusted = await client.workspace.trust()
    expect(trusted).toMatchObject({ trusted: true, definitions: [{ name: 'counters', kind: 'decider' }] })
    expect((await client.commands.send({ decider: 'counters', command: 'Open', data: { id: 'a' } })).outcome).toBe('accepted')
  })

  it('trusts a workspace created here, and lists it as recent', async () => {
    const state = await client.workspace.open({ path: join(home, 'new-one'), create: true })
    expect(state.trusted).toBe(true)
    expect((await client.workspace.recent()).map((r) => r.path)).toContain(state.path)
  })
})
