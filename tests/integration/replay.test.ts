import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contract, type JobInfo } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import { createMemoryPair } from '../../shared/rpc/memory'
import { serve } from '../../shared/rpc/server'
import { openWorkbench, type Workbench } from '../../main/services'
import { TrustRegistry } from '../../main/workspace/trust'

const accounts = (extra = '') => `import { defineDecider, z } from 'workbench'
${extra}
type State = { balance: number; owner?: string; tags: Record<string, boolean>; closed: boolean }

export default defineDecider<State>({
  name: 'accounts',
  streamPrefix: 'account',
  snapshotEvery: 10,
  commands: { Open: z.object({ id: z.string() }) },
  initialState: () => ({ balance: 0, tags: {}, closed: false }),
  evolve: (state, event) => {
    const d = event.data as any
    switch (event.type) {
      case 'Opened': return { ...state, owner: d.owner }
      case 'Deposited': return { ...state, balance: state.balance + d.amount }
      case 'Withdrawn': return { ...state, balance: state.balance - d.amount }
      case 'Tagged': return { ...state, tags: { ...state.tags, [d.tag]: true } }
      case 'Untagged': { const tags = { ...state.tags }; delete tags[d.tag]; return { ...state, tags } }
      case 'OwnerChanged': return { ...state, owner: d.owner }
      case 'OwnerRemoved': { const { owner: _o, ...rest } = state; return rest as State }
      default: return state
    }
  },
  decide: () => []
})
`

let home: string
let workbench: Workbench
let client: ReturnType<typeof connect<typeof contract>>
const t0 = Date.UTC(2026, 0, 1)

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-replay-'))
  workbench = await openWorkbench({ host: 'test', workspaceDir: join(home, 'ws'), trust: new TrustRegistry(join(home, 'home')) })
  const [a, b] = createMemoryPair()
  serve(workbench.contract, workbench.implementation, a, { events: workbench.events })
  client = connect(contract, b)
  await client.workspace.saveFile({ path: 'domain/accounts.ts', source: accounts() })
  const store = workbench.workspace().store
  // account-1: set, overwritten, removed fields, at known times.
  const script: Array<[string, Record<string, unknown>]> = [
    ['Opened', { owner: 'ann' }],
    ['Deposited', { amount: 100 }],
    ['Tagged', { tag: 'vip' }],
    ['Withdrawn', { amount: 30 }],
    ['OwnerChanged', { owner: 'bob' }],
    ['Tagged', { tag: 'new' }],
    ['Untagged', { tag: 'vip' }]
  ]
  for (const [i, [type, data]] of script.entries()) {
    ;(store as unknown as { now: () => number }).now = () => t0 + i * 60_000
    await store.appendToStream('account-1', [{ type, data }])
    await store.appendToStream('other-1', [{ type: 'Noise', data: { i } }])
  }
  ;(store as unknown as { now: () => number }).now = Date.now
  for (let i = 0; i < 25; i++) await store.appendToStream('account-2', [{ type: 'Deposited', data: { amount: i } }])
})
afterAll(async () => {
  client.close()
  await workbench.close()
  rmSync(home, { recursive: true, force: true })
})

describe('replay', () => {
  it('rehydrates a stream exactly like a hand-computed fold', async () => {
    const r = await client.replay.stateAt({ streamId: 'account-1' })
    expect(r).toMatchObject({ decider: 'accounts', version: 7, streamVersion: 7, event: { type: 'Untagged', version: 7 } })
    expect(r.state).toEqual({ balance: 70, owner: 'bob', tags: { new: true }, closed: false })
  })

  it('stops at a version, a position and a time, on the boundaries', async () => {
    const at = async (point: Parameters<typeof client.replay.stateAt>[0]['at']) => client.replay.stateAt({ streamId: 'account-1', at: point, useSnapshots: false })
    expect(await at({ version: 0 })).toMatchObject({ version: 0, event: null, state: { balance: 0, tags: {}, closed: false } })
    expect(await at({ version: 2 })).toMatchObject({ version: 2, event: { type: 'Deposited' }, state: { balance: 100, owner: 'ann' } })
    expect(await at({ version: 99 })).toMatchObject({ version: 7 })
    // Positions interleave with other-1: account-1's events are at 1, 3, 5 ...
    expect(await at({ position: 0 })).toMatchObject({ version: 0, event: null })
    expect(await at({ position: 3 })).toMatchObject({ version: 2 })
    expect(await at({ position: 4 })).toMatchObject({ version: 2 })
    expect(await at({ position: 1000 })).toMatchObject({ version: 7 })
    expect(await at({ time: t0 - 1 })).toMatchObject({ version: 0 })
    expect(await at({ time: new Date(t0 + 2 * 60_000).toISOString() })).toMatchObject({ version: 3, event: { type: 'Tagged' } })
    expect(await at({ time: t0 + 2 * 60_000 + 59_999 })).toMatchObject({ version: 3 })
    expect(await at({ time: t0 + 10 * 60_000 })).toMatchObject({ version: 7 })
  })

  it('takes snapshots every N events and gives the same state from them', async () => {
    const cold = await client.replay.stateAt({ streamId: 'account-2', useSnapshots: false })
    const first = await client.replay.stateAt({ streamId: 'account-2' })
    expect(first.snapshotVersion).toBeNull()
    const warm = await client.replay.stateAt({ streamId: 'account-2' })
    expect(warm.snapshotVersion).toBe(20)
    expect(warm.eventsFolded).toBe(5)
    expect(warm.state).toEqual(cold.state)
    const mid = await client.replay.stateAt({ streamId: 'account-2', at: { version: 15 } })
    expect(mid.snapshotVersion).toBe(10)
    expect(mid.state).toEqual((await client.replay.stateAt({ streamId: 'account-2', at: { version: 15 }, useSnapshots: false })).state)
  })

  it('ignores snapshots taken with other code, and purges them', async () => {
    await client.replay.stateAt({ streamId: 'account-2' })
    await client.workspace.saveFile({ path: 'domain/accounts.ts', source: accounts('// a comment changes the code hash') })
    const after = await client.replay.stateAt({ streamId: 'account-2' })
    expect(after.snapshotVersion).toBeNull()
    expect((await client.replay.purgeSnapshots({ staleOnly: true })).removed).toBeGreaterThan(0)
    await client.workspace.saveFile({ path: 'domain/accounts.ts', source: accounts() })
  })

  it('steps through events with the state before, after and field changes', async () => {
    const { steps, next } = await client.replay.steps({ streamId: 'account-1', fromVersion: 3, limit: 3 })
    expect(steps.map((s) => s.event.type)).toEqual(['Tagged', 'Withdrawn', 'OwnerChanged'])
    expect(steps[0].changes).toEqual([{ kind: 'added', path: ['tags', 'vip'], after: true }])
    expect(steps[1].changes).toEqual([{ kind: 'changed', path: ['balance'], before: 100, after: 70 }])
    expect(steps[2].before).toMatchObject({ owner: 'ann' })
    expect(steps[2].after).toMatchObject({ owner: 'bob' })
    expect(next).toBe(6)
  })

  it('blames each field on the event that last changed it: set, overwritten, removed', async () => {
    const field = (fields: Array<{ path: Array<string | number>; event: { version: number } | null }>, ...path: string[]) =>
      fields.find((f) => JSON.stringify(f.path) === JSON.stringify(path))
    const now = await client.replay.blame({ streamId: 'account-1' })
    expect(field(now.fields, 'balance')?.event?.version).toBe(4)
    expect(field(now.fields, 'owner')?.event?.version).toBe(5)
    expect(field(now.fields, 'tags', 'new')?.event?.version).toBe(6)
    expect(field(now.fields, 'tags', 'vip')).toBeUndefined()
    expect(field(now.fields, 'closed')?.event).toBeNull()
    const earlier = await client.replay.blame({ streamId: 'account-1', at: { version: 3 } })
    expect(field(earlier.fields, 'owner')?.event?.version).toBe(1)
    expect(field(earlier.fields, 'tags', 'vip')?.event?.version).toBe(3)
  })

  it('exports a given/when/then fixture', async () => {
    const f = await client.replay.fixture({ streamId: 'account-1', givenUpTo: 4, thenUpTo: 6 })
    expect(f.typescript).toContain("import accounts from './domain/accounts'")
    expect(f.typescript).toContain('spec(given).when(when).then(then)')
    const json = JSON.parse(f.json)
    expect(json.given).toHaveLength(4)
    expect(json.when.map((e: { type: string }) => e.type)).toEqual(['OwnerChanged', 'Tagged'])
    expect(json.then.state).toEqual({ balance: 70, owner: 'bob', tags: { vip: true, new: true }, closed: false })
  })

  it('finds no divergence in a deterministic decider', async () => {
    expect(await client.replay.checkDeterminism({ streamId: 'account-1' })).toMatchObject({ deterministic: true, eventsChecked: 7 })
  })

  it('flags a decider whose state depends on something other than the events, naming the event', async () => {
    const leaky = accounts('let seen = 0').replace("case 'Tagged': return { ...state, tags", "case 'Tagged': seen++; return { ...state, seen, tags")
    await client.workspace.saveFile({ path: 'domain/accounts.ts', source: leaky })
    const r = await client.replay.checkDeterminism({ streamId: 'account-1' })
    expect(r.deterministic).toBe(false)
    expect(r.divergence?.event).toMatchObject({ version: 3, type: 'Tagged' })
    expect(r.divergence?.changes[0]).toMatchObject({ path: ['seen'] })
    await client.workspace.saveFile({ path: 'domain/accounts.ts', source: accounts() })
  })

  it('replays a category as a job with progress', async () => {
    const job = await client.replay.startReplay({ category: 'account' })
    const done = await new Promise<JobInfo>((resolve) => {
      const stop = client.jobs.on('updated', (j) => {
        if (j.id === job.id && j.state !== 'running') {
          stop()
          resolve(j)
        }
      })
    })
    expect(done).toMatchObject({ state: 'succeeded', result: { streams: 2, events: 32, failures: [] } })
  })
})
