import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contract, type DryRunReport, type JobInfo, type MigrationReport } from '../../shared/contract'
import { connect } from '../../shared/rpc/client'
import { createMemoryPair } from '../../shared/rpc/memory'
import { serve } from '../../shared/rpc/server'
import { workerScript } from '../../main/jobs/worker-path'
import { openWorkbench, type Workbench } from '../../main/services'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import { TrustRegistry } from '../../main/workspace/trust'
import { balances, deposited, renamed, wallet } from './fixtures/wallet'

let home: string
let dir: string
let workbench: Workbench
let client: ReturnType<typeof connect<typeof contract>>

/** Deposited v1 carries `amount` as text; this one throws on text that is not an amount. */
const strict = deposited.replace('upcast: ({ amount }) => ({', "upcast: ({ amount }) => {\n    if (!/^\\d+(\\.\\d+)?$/.test(amount)) throw new Error('not an amount: ' + amount)\n    return {").replace(/\}\)\n\}\)\n$/, '}\n  }\n})\n')

async function finished(job: JobInfo): Promise<JobInfo> {
  await workbench.jobs.idle()
  const done = (await client.jobs.list()).find((j) => j.id === job.id)!
  return done
}

function exported(file: string) {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { position: number; streamId: string; version: number; type: string; schemaVersion: number; id: string; data: Record<string, unknown> })
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'esw-upcast-jobs-'))
  dir = join(home, 'ws')
  mkdirSync(join(dir, 'domain'), { recursive: true })
  mkdirSync(join(dir, 'upcasters'), { recursive: true })
  mkdirSync(join(dir, 'projections'), { recursive: true })
  writeFileSync(join(dir, 'domain', 'wallet.ts'), wallet)
  writeFileSync(join(dir, 'upcasters', 'deposited.ts'), strict)
  writeFileSync(join(dir, 'upcasters', 'money-in.ts'), renamed)
  writeFileSync(join(dir, 'projections', 'balances.ts'), balances)
  const store = new SqliteEventStore(join(dir, 'events.db'))
  store.appendSync('wallet-1', [{ type: 'MoneyIn', data: { units: 1 } }, { type: 'Deposited', schemaVersion: 1, data: { amount: '12.50' } }], 'any')
  store.appendSync('wallet-2', [{ type: 'Deposited', schemaVersion: 1, data: { amount: 'lots' } }], 'any')
  store.appendSync('wallet-1', [{ type: 'Deposited', schemaVersion: 2, data: { cents: 300 } }], 'any')
  store.appendSync('wallet-3', [{ type: 'Deposited', schemaVersion: 1, data: { amount: '2' } }], 'any')
  await store.close()
  const trust = new TrustRegistry(join(home, 'home'))
  trust.trust(dir)
  workbench = await openWorkbench({ host: 'test', workspaceDir: dir, trust })
  const [a, b] = createMemoryPair()
  serve(workbench.contract, workbench.implementation, a, { events: workbench.events })
  client = connect(contract, b)
})
afterAll(async () => {
  client.close()
  await workbench.close()
  rmSync(home, { recursive: true, force: true })
})

describe('dry-runs, export as read and migration', () => {
  it('lists the steps and reads a stream as read, stored events unchanged', async () => {
    const registry = await client.upcasters.registry()
    expect(registry.problems).toEqual([])
    expect(registry.steps.map((s) => [s.eventType, s.fromVersion, s.toType, s.toVersion]).sort()).toEqual([
      ['Deposited', 1, null, 2],
      ['MoneyIn', 1, 'Deposited', 1]
    ])
    const read = await client.upcasters.readStream({ streamId: 'wallet-1' })
    expect(read.events.map((e) => [e.version, e.type, e.schemaVersion, e.data, e.upcastedFrom ?? null])).toEqual([
      [1, 'Deposited', 2, { cents: 100 }, { type: 'MoneyIn', schemaVersion: 1 }],
      [2, 'Deposited', 2, { cents: 1250 }, { type: 'Deposited', schemaVersion: 1 }],
      [3, 'Deposited', 2, { cents: 300 }, null]
    ])
    expect((await client.store.readStream({ streamId: 'wallet-1' })).events.map((e) => e.type)).toEqual(['MoneyIn', 'Deposited', 'Deposited'])
  })

  it('dry-runs with exact counts, the failing event named with its line in the upcaster', async () => {
    const job = await finished(await client.upcasters.startDryRun({}))
    expect(job.state).toBe('succeeded')
    const report = job.result as DryRunReport
    expect(report.counts).toEqual([
      { type: 'Deposited', schemaVersion: 1, transformed: 2, unchanged: 0, failed: 1, mismatched: 0 },
      { type: 'Deposited', schemaVersion: 2, transformed: 0, unchanged: 1, failed: 0, mismatched: 0 },
      { type: 'MoneyIn', schemaVersion: 1, transformed: 1, unchanged: 0, failed: 0, mismatched: 0 }
    ])
    expect(report.failures).toEqual([
      { position: 3, streamId: 'wallet-2', type: 'Deposited', schemaVersion: 1, message: 'not an amount: lots', file: 'upcasters/deposited.ts', line: 7, column: expect.any(Number), data: { amount: 'lots' } }
    ])
    expect(report.ok).toBe(false)
    expect(report.newest).toEqual([{ type: 'Deposited', schemaVersion: 2 }])
    expect(report.samples.map((s) => [s.before.type, s.after.map((e) => e.data)])).toContainEqual(['MoneyIn', [{ cents: 100 }]])
  })

  it('refuses to migrate a log an upcaster fails on, leaving no new folder and the old store as it was', async () => {
    const before = readFileSync(join(dir, 'events.db'))
    const target = join(home, 'failed')
    const job = await finished(await client.upcasters.startMigration({ target }))
    expect(job.state).toBe('failed')
    expect(job.error?.message).toContain('not an amount: lots')
    expect(existsSync(target)).toBe(false)
    expect(readFileSync(join(dir, 'events.db')).equals(before)).toBe(true)
    expect((await client.workbench.info()).workspacePath).toBe(dir)
    await expect(client.upcasters.switchTo({ target })).rejects.toMatchObject({ code: 'NotFound' })
  })

  it('exports the log as read', async () => {
    await client.workspace.saveFile({ path: 'upcasters/deposited.ts', source: deposited })
    const job = await finished(await client.jobs.startExport({ upcast: true }))
    const lines = exported((job.result as { file: string }).file)
    expect(lines.map((e) => [e.position, e.streamId, e.version, e.type, e.schemaVersion])).toEqual([
      [1, 'wallet-1', 1, 'Deposited', 2],
      [2, 'wallet-1', 2, 'Deposited', 2],
      [3, 'wallet-2', 1, 'Deposited', 2],
      [4, 'wallet-1', 3, 'Deposited', 2],
      [5, 'wallet-3', 1, 'Deposited', 2]
    ])
    const raw = exported(((await finished(await client.jobs.startExport({}))).result as { file: string }).file)
    expect(raw.map((e) => e.type)).toEqual(['MoneyIn', 'Deposited', 'Deposited', 'Deposited', 'Deposited'])
    expect(lines.map((e) => e.id)).toEqual(raw.map((e) => e.id))
  })

  it('refuses to switch to a migration whose upcast events would not read back as they were read (NaN)', async () => {
    // 'lots' upcasts to NaN cents: in memory the readers saw NaN, a stored copy would hold null.
    const target = join(home, 'lossy')
    const job = await finished(await client.upcasters.startMigration({ target }))
    expect(job.state).toBe('succeeded')
    const report = job.result as MigrationReport
    expect(report.verified).toBe(false)
    expect(report.unstable).toEqual([{ position: 3, streamId: 'wallet-2', type: 'Deposited', reason: 'data.cents is NaN' }])
    await expect(client.upcasters.switchTo({ target })).rejects.toMatchObject({ code: 'Conflict' })
    expect((await client.workbench.info()).workspacePath).toBe(dir)
  })

  it('migrates into a verified new workspace and switches to it, the old one kept', async () => {
    const store = new SqliteEventStore(join(dir, 'events.db'))
    store.appendSync('wallet-2', [{ type: 'Deposited', schemaVersion: 2, data: { cents: 1 } }], 'any')
    await store.close()
    // The bad event stays in the log; a fixed upcaster reads it as 0 cents.
    await client.workspace.saveFile({ path: 'upcasters/deposited.ts', source: deposited.replace('Math.round(Number(amount) * 100)', 'Math.round(Number(amount) * 100) || 0') })
    const target = join(home, 'migrated')
    const job = await finished(await client.upcasters.startMigration({ target }))
    expect(job.state).toBe('succeeded')
    const report = job.result as MigrationReport
    expect(report).toMatchObject({ target, eventsBefore: 6, eventsAfter: 6, streams: 3, streamMismatches: [], unstable: [], verified: true })
    expect(report.projections).toEqual([{ name: 'balances', equal: true, differences: [] }])
    const old = new SqliteEventStore(join(dir, 'events.db'))
    const fresh = new SqliteEventStore(join(target, 'events.db'))
    try {
      const a = old.readAllSync({ limit: 100 }).events
      const b = fresh.readAllSync({ limit: 100 }).events
      expect(b.map((e) => [e.position, e.streamId, e.version, e.id, e.recordedAt])).toEqual(a.map((e) => [e.position, e.streamId, e.version, e.id, e.recordedAt]))
      expect(new Set(b.map((e) => `${e.type} v${e.schemaVersion}`))).toEqual(new Set(['Deposited v2']))
      expect(a[0].type).toBe('MoneyIn')
    } finally {
      await old.close()
      await fresh.close()
    }
    expect(await client.upcasters.switchTo({ target })).toEqual({ dir: target })
    expect(await client.workbench.info()).toMatchObject({ workspacePath: target, trusted: true })
    expect(existsSync(join(dir, 'events.db'))).toBe(true)
  })
})

describe('esw dry-run, export --upcast and migrate', () => {
  it('exit with 1 when an event fails or verification fails, 0 otherwise', () => {
    const cli = workerScript('cli', join(__dirname, '..', '..', 'main', 'cli', 'main.ts'))
    const ws = join(home, 'cli-ws')
    const env = { ...process.env, ESW_HOME: join(home, 'cli-home') }
    const esw = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env })
    expect(esw(['init', ws]).status).toBe(0)
    mkdirSync(join(ws, 'upcasters'), { recursive: true })
    writeFileSync(join(ws, 'upcasters', 'deposited.ts'), strict)
    const store = new SqliteEventStore(join(ws, 'events.db'))
    store.appendSync('wallet-1', [{ type: 'Deposited', schemaVersion: 1, data: { amount: '1.5' } }, { type: 'Deposited', schemaVersion: 1, data: { amount: 'x' } }], 'any')
    void store.close()
    const failing = esw(['dry-run', ws])
    expect(failing.status).toBe(1)
    expect(JSON.parse(failing.stdout)).toMatchObject({ counts: [{ type: 'Deposited', schemaVersion: 1, transformed: 1, failed: 1 }] })
    expect(failing.stderr).toContain('1 event failed to upcast')
    expect(esw(['migrate', ws, join(home, 'cli-failed')]).status).toBe(1)
    expect(existsSync(join(home, 'cli-failed'))).toBe(false)

    writeFileSync(join(ws, 'upcasters', 'deposited.ts'), deposited.replace('Math.round(Number(amount) * 100)', 'Math.round(Number(amount) * 100) || 0'))
    const ok = esw(['dry-run', ws, '--type', 'Deposited'])
    expect(ok.status).toBe(0)
    const asRead = esw(['export', ws, '--upcast'])
    expect(asRead.status).toBe(0)
    expect(asRead.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { data: unknown }).data)).toEqual([{ cents: 150 }, { cents: 0 }])
    const migrated = esw(['migrate', ws, join(home, 'cli-migrated')])
    expect(migrated.status).toBe(0)
    expect(JSON.parse(migrated.stdout)).toMatchObject({ verified: true, eventsAfter: 2 })
  })
})
