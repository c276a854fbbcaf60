import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SandboxContext } from '../sandbox/context'
import { sandboxPrelude } from '../sandbox/prelude'
import { SqliteEventStore } from '../store/sqlite-store'
import { CommandBus } from './command-bus'
import { loadDeciders } from './load-deciders'
import { inThreadRunner, type CodeRunner } from './runner'

const counters = `import { defineDecider, reject, z } from 'workbench'

export default defineDecider<{ opened: boolean; total: number }>({
  name: 'counters',
  streamPrefix: 'counter',
  commands: { Open: z.object({ id: z.string() }), Add: z.object({ id: z.string(), amount: z.number().int() }) },
  initialState: () => ({ opened: false, total: 0 }),
  evolve: (state, event) => (event.type === 'Opened' ? { ...state, opened: true } : { ...state, total: state.total + Number(event.data.amount) }),
  decide: (command, state) => {
    if (command.type === 'Open') return { type: 'Opened', data: {} }
    if (!state.opened) reject('NotOpen', 'open the counter first')
    // decide may change the state it is given; what the sandbox keeps must not change with it
    state.total += 1000
    return { type: 'Added', data: { amount: command.data.amount, seen: state.total - 1000 } }
  }
})
`

describe.each([['objects', false], ['JSON text', true]] as const)('the command bus, requests as %s', (_, asText) => {
  let dir: string
  let store: SqliteEventStore
  let bus: CommandBus
  let ops: string[]

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'esw-bus-'))
    store = new SqliteEventStore(join(dir, 'events.db'))
    const context = new SandboxContext(sandboxPrelude())
    const deciders = loadDeciders(context, [['domain/counters.ts', counters]], { strict: true })
    const inner = inThreadRunner(context)
    ops = []
    // Counts the crossings into user code, by operation.
    const runner: CodeRunner = {
      call: (request, where) => {
        ops.push(String(request.op))
        return inner.call(request, where)
      },
      ...(asText
        ? {
            callText: <T>(request: string, where: string) => {
              ops.push(String((JSON.parse(request) as { op: string }).op))
              return inner.callText!<T>(request, where)
            }
          }
        : {})
    }
    bus = new CommandBus(store, runner, deciders)
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const send = (command: string, data: Record<string, unknown>) => bus.send({ decider: 'counters', command, data })

  it('crosses into user code once per command, for a new stream as for one it has seen', async () => {
    expect(await send('Open', { id: 'a' })).toMatchObject({ outcome: 'accepted', streamId: 'counter-a', events: [{ type: 'Opened', version: 1 }] })
    expect(await send('Add', { id: 'a', amount: 2 })).toMatchObject({ outcome: 'accepted', events: [{ type: 'Added', version: 2, data: { amount: 2, seen: 0 } }] })
    expect(await send('Add', { id: 'a', amount: 3 })).toMatchObject({ outcome: 'accepted', events: [{ type: 'Added', version: 3, data: { amount: 3, seen: 2 } }] })
    expect(await send('Add', { id: 'b', amount: 1 })).toMatchObject({ outcome: 'rejected', rule: 'NotOpen' })
    expect(ops).toEqual(['decider.command', 'decider.command', 'decider.command', 'decider.command'])
  })

  it('returns the stored events, read back by version', async () => {
    const outcome = await send('Open', { id: 'a' })
    expect(outcome.outcome).toBe('accepted')
    expect(outcome.outcome === 'accepted' && outcome.events).toEqual(store.readStreamSync('counter-a').events)
  })

  it('loads and folds a stream that moved behind the sandbox, instead of deciding on what it kept', async () => {
    await store.appendToStream('counter-c', [{ type: 'Opened', data: {} }])
    // The sandbox has not seen counter-c: it decides on the initial state as version 0, which the bus refuses.
    expect(await send('Add', { id: 'c', amount: 4 })).toMatchObject({ outcome: 'accepted', events: [{ version: 2, data: { seen: 0 } }] })
    expect(ops).toEqual(['decider.command', 'decider.handle'])
    await store.appendToStream('counter-c', [{ type: 'Added', data: { amount: 10 } }])
    expect(await send('Add', { id: 'c', amount: 1 })).toMatchObject({ outcome: 'accepted', events: [{ version: 4, data: { seen: 14 } }] })
    expect(ops).toEqual(['decider.command', 'decider.handle', 'decider.command', 'decider.handle'])
    expect(await send('Add', { id: 'c', amount: 1 })).toMatchObject({ outcome: 'accepted', events: [{ version: 5, data: { seen: 15 } }] })
    expect(ops).toHaveLength(5)
  })
})
