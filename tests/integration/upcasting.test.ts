import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TrustRegistry } from '../../main/workspace/trust'
import { Workspace } from '../../main/workspace/workspace'
import { balances, deposited, renamed, wallet } from './fixtures/wallet'

let home: string
let ws: Workspace

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-upcasting-'))
  ws = await Workspace.open(join(home, 'ws'), { trust: new TrustRegistry(join(home, 'home')), watch: false })
  // The log as the older code wrote it: MoneyIn (oldest), Deposited v1, then Deposited v2.
  ws.store.appendSync('wallet-1', [{ type: 'MoneyIn', data: { units: 1 } }], 'any')
  ws.store.appendSync('wallet-1', [{ type: 'Deposited', schemaVersion: 1, data: { amount: '12.50' } }], 'any')
  ws.store.appendSync('wallet-1', [{ type: 'Deposited', schemaVersion: 2, data: { cents: 300 } }], 'any')
  for (const [file, source] of [
    ['domain/wallet.ts', wallet],
    ['upcasters/deposited.ts', deposited],
    ['upcasters/money-in.ts', renamed],
    ['projections/balances.ts', balances]
  ]) await ws.saveFile(file, source)
  expect(ws.state().problems).toEqual([])
})
afterAll(async () => {
  await ws.close()
  rmSync(home, { recursive: true, force: true })
})

describe('upcasting on the one read path', () => {
  it('gives the decider only the newest version: its rules see the upcast amounts', async () => {
    // 100 + 1250 + 300 cents.
    const refused = await ws.commands.send({ decider: 'wallets', command: 'Spend', data: { id: '1', cents: 1651 } })
    expect(refused).toMatchObject({ outcome: 'rejected', rule: 'Funds', message: 'only 1650 cents left' })
    expect(await ws.commands.send({ decider: 'wallets', command: 'Spend', data: { id: '1', cents: 1650 } })).toMatchObject({ outcome: 'accepted' })
  })

  it('gives replay the upcast events, with the stored ones still readable raw', async () => {
    const steps = await ws.replayer.steps('wallet-1', { decider: 'wallets' })
    expect(steps.steps.map((s) => (s.after as { cents: number }).cents)).toEqual([100, 1350, 1650, 0])
    // Each step says what the decider saw where upcasters changed the stored event.
    expect(steps.steps.map((s) => s.read?.map((e) => [e.type, e.schemaVersion, e.data, e.upcastedFrom]) ?? null)).toEqual([
      [['Deposited', 2, { cents: 100 }, { type: 'MoneyIn', schemaVersion: 1 }]],
      [['Deposited', 2, { cents: 1250 }, { type: 'Deposited', schemaVersion: 1 }]],
      null,
      null
    ])
    const raw = await ws.store.readStream('wallet-1')
    expect(raw.events.map((e) => [e.type, e.schemaVersion, e.data])).toEqual([
      ['MoneyIn', 1, { units: 1 }],
      ['Deposited', 1, { amount: '12.50' }],
      ['Deposited', 2, { cents: 300 }],
      ['Spent', 1, { cents: 1650 }]
    ])
  })

  it('gives projections the upcast events, selecting the renamed type by its stored name', async () => {
    expect(ws.projections.descriptor('balances').reads.sort()).toEqual(['Deposited', 'MoneyIn', 'Spent'])
    await ws.projections.idle()
    expect(ws.store.db.prepare('SELECT id, cents, deposits FROM rm_balances_wallets').all()).toEqual([{ id: 'wallet-1', cents: 0, deposits: 3 }])
    // A rebuild (in a job thread) and a shadow run read the log through the same upcasters.
    expect(await ws.projections.rebuild('balances')).toMatchObject({ promoted: true, fault: null })
    expect(ws.store.db.prepare('SELECT id, cents, deposits FROM rm_balances_wallets').all()).toEqual([{ id: 'wallet-1', cents: 0, deposits: 3 }])
    await ws.projections.shadowStart('balances')
    expect(ws.projections.shadowDiff('balances').map((d) => [d.added, d.removed, d.changed])).toEqual([[0, 0, 0]])
  })

  it('reports a gap in a chain as a problem of the file that makes it, and reading that type fails with the reason', async () => {
    await ws.saveFile('upcasters/v3-to-v4.ts', deposited.replace('fromVersion: 1', 'fromVersion: 3').replace('toVersion: 2', 'toVersion: 4'))
    expect(ws.state().problems).toEqual([
      { file: 'upcasters/v3-to-v4.ts', line: null, column: null, severity: 'error', message: 'Deposited: no upcaster from v2 to v3 (a gap between v1 → v2 in upcasters/deposited.ts and v3 → v4 in upcasters/v3-to-v4.ts)' }
    ])
    await expect(ws.commands.send({ decider: 'wallets', command: 'Spend', data: { id: '1', cents: 1 } })).rejects.toMatchObject({
      code: 'UserCodeFailed',
      message: expect.stringContaining('Cannot read Deposited: Deposited: no upcaster from v2 to v3')
    })
    await ws.deleteFile('upcasters/v3-to-v4.ts')
    expect(ws.state().problems).toEqual([])
  })
})
