import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importEventsFrom } from '../../main/electron/desktop-actions'
import { openWorkbench } from '../../main/services'
import { postgresSide, sqliteSide } from '../../main/store/postgres-copy'
import { pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from '../../main/store/postgres-test-server'
import { ReplicaEventStore } from '../../main/store/replica'
import { MemoryCredentials } from '../../main/workspace/credentials'
import { demoTemplateFiles } from '../../main/workspace/demo-template'
import { TrustRegistry } from '../../main/workspace/trust'
import { servedWorkbench, until, type Bench } from './support/workbenches'

let server: PgTestServer | undefined
let home: string
const benches: Bench[] = []

async function workbench(name: string): Promise<Bench> {
  const bench = await servedWorkbench(home, name)
  benches.push(bench)
  return bench
}

const levels = (b: Bench) => b.rpc.projections.page({ projection: 'inventory_levels', table: 'levels' })

describe.skipIf(!pgBinaries)('a workspace whose log lives in PostgreSQL', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    server = await startPgTestServer()
    home = mkdtempSync(join(tmpdir(), 'esw-pg-workspace-'))
  })
  afterAll(async () => {
    for (const b of benches) {
      b.rpc.close()
      await b.wb.close()
    }
    stopPgTestServer(server)
    rmSync(home, { recursive: true, force: true })
  })

  it('asks for the password, keeps none in the folder, and runs commands, projections and sagas on the shared log', async () => {
    const a = await workbench('a')
    const dir = join(home, 'team-a')
    const postgres = { url: server!.url, schema: 'team' }
    await expect(a.rpc.workspace.open({ path: dir, create: true, postgres })).rejects.toMatchObject({ code: 'CredentialsNeeded' })
    expect(existsSync(dir)).toBe(false)
    await expect(a.rpc.workspace.open({ path: dir, create: true, postgres: { url: server!.url.replace('://', '://x:pw@') } })).rejects.toMatchObject({
      code: 'InvalidInput',
      message: expect.stringContaining('password')
    })
    await expect(a.rpc.workspace.open({ path: dir, create: true, postgres, password: 'wrong' })).rejects.toMatchObject({ code: 'CredentialsNeeded', message: expect.stringContaining('refused') })

    // An existing folder pointed at the server: asked for the password, left as it was, and the same request with
    // the password then works.
    const existing = join(home, 'existing')
    mkdirSync(existing)
    await expect(a.rpc.workspace.open({ path: existing, create: false, postgres: { url: server!.url, schema: 'other' } })).rejects.toMatchObject({ code: 'CredentialsNeeded' })
    expect(existsSync(join(existing, 'workbench.json'))).toBe(false)
    expect((await a.rpc.workspace.open({ path: existing, create: false, postgres: { url: server!.url, schema: 'other' }, password: server!.password })).store).toMatchObject({ kind: 'postgres', schema: 'other' })

    const state = await a.rpc.workspace.open({ path: dir, create: true, postgres, password: server!.password })
    expect(state.store).toMatchObject({ kind: 'postgres', schema: 'team', serverHead: 0, localHead: 0 })
    const config = readFileSync(join(dir, 'workbench.json'), 'utf8')
    expect(JSON.parse(config).store).toEqual({ kind: 'postgres', url: server!.url, schema: 'team' })
    expect(config).not.toContain(server!.password)

    for (const [file, source] of Object.entries(demoTemplateFiles)) await a.rpc.workspace.saveFile({ path: file, source })
    expect((await a.rpc.workspace.state()).problems.filter((p) => p.severity === 'error')).toEqual([])

    const stock = await a.rpc.commands.send({ decider: 'inventory', command: 'ReceiveStock', data: { sku: 'beans-kenya-250g', quantity: 10, purchaseOrder: 'po-1' } })
    expect(stock.outcome).toBe('accepted')
    // The inline projection's row is there when the command returns.
    expect((await levels(a)).rows).toEqual([expect.objectContaining({ sku: 'beans-kenya-250g', received: 10, available: 10 })])
    const order = await a.rpc.commands.send({
      decider: 'orders',
      command: 'PlaceOrder',
      data: { orderId: 'o-1', cartId: 'c-1', customerId: 'ann', country: 'NL', lines: [{ sku: 'beans-kenya-250g', quantity: 2, priceCents: 1000 }] }
    })
    expect(order.outcome).toBe('accepted')
    // The saga runs through its steps, every command going to the server.
    await until(() => a.rpc.sagas.instance({ streamId: 'saga-order_fulfilment-o-1' }), (r) => r?.instance?.status === 'completed', 'the saga to complete')
    await until(() => levels(a), (p) => p.rows?.[0]?.reserved === 2, 'the stock to be reserved')

    // The working copy is the server's log, event for event.
    const ws = a.wb.workspace()
    expect(ws.store).toBeInstanceOf(ReplicaEventStore)
    const replica = ws.store as ReplicaEventStore
    const head = await replica.remote.headPosition()
    expect(head).toBeGreaterThan(5)
    expect(await sqliteSide(replica).events(0, 1000)).toEqual(await postgresSide(replica.remote).events(0, 1000))

    // Replay reads the working copy.
    const replay = await a.rpc.replay.stateAt({ streamId: 'order-o-1', decider: 'orders', useSnapshots: false })
    expect(replay.version).toBeGreaterThan(0)

    // An import goes to the server (checked against the working copy first), and comes back into the copy.
    const lines = [1, 2, 3].map((n) => JSON.stringify({ position: 1000 + n, streamId: 'note-1', version: n, type: 'Noted', schemaVersion: 1, id: randomUUID(), data: { n }, metadata: null, recordedAt: '2026-11-01T00:00:00.000Z' }))
    const { uploadId } = await a.rpc.jobs.beginUpload({ fileName: 'notes.ndjson', bytes: 100 })
    await a.rpc.jobs.uploadChunk({ uploadId, text: lines.join('\n') + '\n' })
    const job = await a.rpc.jobs.startImport({ uploadId })
    const done = await until(() => a.rpc.jobs.list(undefined), (list) => list.find((j) => j.id === job.id)?.state !== 'running', 'the import to finish')
    const finished = done.find((j) => j.id === job.id)!
    expect([finished.state, finished.error?.message ?? null]).toEqual(['succeeded', null])
    expect(finished.result).toMatchObject({ events: 3, mode: 'append' })
    await until(() => replica.head(), (h) => h === head + 3, 'the import to reach the working copy')
    expect((await postgresSide(replica.remote).events(head, 10)).map((e) => e.streamId)).toEqual(['note-1', 'note-1', 'note-1'])
    // The desktop's File › Import Events… goes to the server too; a job told to write the copy directly is refused.
    const file = join(home, 'more-notes.ndjson')
    writeFileSync(file, [4, 5].map((n) => JSON.stringify({ position: 2000 + n, streamId: 'note-1', version: n, type: 'Noted', schemaVersion: 1, id: randomUUID(), data: { n }, metadata: null, recordedAt: '2026-11-02T00:00:00.000Z' })).join('\n') + '\n')
    const desktopImport = await importEventsFrom(a.wb, file).finished
    expect([desktopImport.state, desktopImport.error?.message ?? null]).toEqual(['succeeded', null])
    await until(() => replica.head(), (h) => h === head + 5, 'the desktop import to reach the working copy')
    expect((await postgresSide(replica.remote).events(head, 10)).map((e) => e.version)).toEqual([1, 2, 3, 4, 5])
    const direct = a.wb.jobs.start({ kind: 'import', dbFile: ws.paths.database, inFile: file }, 'direct')
    const refused = (await until(() => a.rpc.jobs.list(undefined), (list) => list.find((j) => j.id === direct.id)?.state !== 'running', 'the direct import to end')).find((j) => j.id === direct.id)!
    expect(refused.error?.message).toContain('only its working copy')

    // A migration makes a workspace of its own: its workbench.json does not point at the shared server.
    const migrated = join(home, 'team-a-migrated')
    const migration = await a.rpc.upcasters.startMigration({ target: migrated })
    const migrationDone = (await until(() => a.rpc.jobs.list(undefined), (list) => list.find((j) => j.id === migration.id)?.state !== 'running', 'the migration to end')).find((j) => j.id === migration.id)!
    expect([migrationDone.state, migrationDone.error?.message ?? null]).toEqual(['succeeded', null])
    expect(JSON.parse(readFileSync(join(migrated, 'workbench.json'), 'utf8')).store).toBeUndefined()

    // Scavenge: what a tombstone hides goes from the server and from the working copy.
    await a.rpc.store.deleteStream({ streamId: 'note-1', mode: 'tombstone' })
    const scavenge = await a.rpc.jobs.startScavenge(undefined)
    const scavenged = (await until(() => a.rpc.jobs.list(undefined), (list) => list.find((j) => j.id === scavenge.id)?.state !== 'running', 'the scavenge to finish')).find((j) => j.id === scavenge.id)!
    expect([scavenged.state, scavenged.error?.message ?? null]).toEqual(['succeeded', null])
    // The newest row of the log stays (hidden) in both, so positions are never reused.
    expect(scavenged.result).toMatchObject({ removedEvents: 4 })
    expect((await postgresSide(replica.remote).events(head, 10)).map((e) => e.version)).toEqual([5])
    expect((await sqliteSide(replica).events(head, 10)).map((e) => e.version)).toEqual([5])

    // A stale expected version is decided by the server.
    await expect(a.rpc.store.append({ streamId: 'order-o-1', events: [{ type: 'Note', data: {} }], expectedVersion: 'no-stream' })).rejects.toMatchObject({ code: 'WrongExpectedVersion' })
  })

  it('starts on the demo when the workspace it was to open is on a server it cannot open now', async () => {
    const saved = process.env.ESW_HOME
    process.env.ESW_HOME = join(home, 'c-home')
    try {
      const wb = await openWorkbench({ host: 'test', workspaceDir: join(home, 'team-a'), trust: new TrustRegistry(join(home, 'c-trust')), credentials: new MemoryCredentials({}), seedDemo: false })
      try {
        expect(wb.workspace().dir).toBe(join(home, 'c-home', 'workspaces', 'demo'))
        expect(wb.workspace().store).not.toBeInstanceOf(ReplicaEventStore)
      } finally {
        await wb.close()
      }
    } finally {
      if (saved === undefined) delete process.env.ESW_HOME
      else process.env.ESW_HOME = saved
    }
  })

  it("lets a teammate's workbench open the same store and see the same log and read models", async () => {
    const b = await workbench('b')
    const dir = join(home, 'team-b')
    const state = await b.rpc.workspace.open({ path: dir, create: true, postgres: { url: server!.url, schema: 'team' }, password: server!.password })
    expect(state.store).toMatchObject({ kind: 'postgres' })
    for (const [file, source] of Object.entries(demoTemplateFiles)) await b.rpc.workspace.saveFile({ path: file, source })
    const a = benches[0]
    const aStore = a.wb.workspace().store as ReplicaEventStore
    // The whole log was copied when the workspace opened; the read model is built from it.
    expect(b.wb.workspace().store.head()).toBe(aStore.head())
    await until(() => levels(b), (p) => p.rows?.length === 1, 'b to project the log')
    expect((await levels(b)).rows).toEqual((await levels(a)).rows)

    // What b appends reaches a through the server's notifications; a's projection follows.
    await b.rpc.commands.send({ decider: 'inventory', command: 'ReceiveStock', data: { sku: 'tea-sencha-100g', quantity: 4, purchaseOrder: 'po-2' } })
    await until(() => levels(a), (p) => p.rows?.some((r) => r.sku === 'tea-sencha-100g'), "a to see b's stock")
    const page = await a.rpc.store.readStream({ streamId: 'inventory-tea-sencha-100g', from: 1, direction: 'forwards', limit: 10 })
    expect(page.events.map((e) => e.type)).toEqual(['StockReceived'])
    // Metadata set by one is copied by the other on a sync.
    await b.rpc.store.setStreamMetadata({ streamId: 'inventory-tea-sencha-100g', metadata: { custom: { note: 'from b' } } })
    await a.rpc.workspace.sync(undefined)
    expect((await a.rpc.store.streamInfo({ streamId: 'inventory-tea-sencha-100g' })).metadata).toEqual({ custom: { note: 'from b' } })
  })
})
