import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportEvents } from './ndjson'
import { postgresSide } from './postgres-copy'
import { importIntoPostgres } from './postgres-import'
import { dropSchema, openTestStore, pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from './postgres-test-server'
import { ReplicaEventStore } from './replica'
import { SqliteEventStore } from './sqlite-store'

let server: PgTestServer | undefined
let dir: string
let schemas = 0

async function exported(store: SqliteEventStore): Promise<string> {
  let text = ''
  await exportEvents(store, {}, (chunk) => void (text += chunk))
  return text
}

/** A SQLite log of a few streams, as NDJSON lines. */
async function sourceLines(): Promise<string[]> {
  const source = new SqliteEventStore(join(dir, `source-${++schemas}.db`))
  for (let i = 0; i < 40; i++) await source.appendToStream(`order-${i % 5}`, [{ type: 'Tick', data: { i }, metadata: { correlationId: `c-${i}` } }])
  const text = await exported(source)
  await source.close()
  return text.trim().split('\n')
}

async function replica(schema: string): Promise<ReplicaEventStore> {
  return ReplicaEventStore.open(join(dir, `${schema}-${++schemas}.db`), { url: server!.url, password: server!.password, schema }, { checkEveryMs: 50 })
}

describe.skipIf(!pgBinaries)('NDJSON import into a PostgreSQL store', () => {
  beforeAll(async () => {
    server = await startPgTestServer()
    dir = mkdtempSync(join(tmpdir(), 'esw-pg-import-'))
  })
  afterAll(() => {
    stopPgTestServer(server)
    rmSync(dir, { recursive: true, force: true })
  })

  it('restores a whole log into an empty server exactly: export, import, export gives the same bytes', async () => {
    const schema = `imp${process.pid}_1`
    const lines = await sourceLines()
    const copy = await replica(schema)
    const result = await importIntoPostgres(copy.db.name, copy.remote.connection, lines)
    expect(result).toMatchObject({ events: 40, streams: 5, mode: 'restore' })
    await copy.sync()
    expect(await exported(copy)).toBe(lines.join('\n') + '\n')
    await copy.close()
    await dropSchema(server!, schema)
  })

  it('restores an export with gaps in its positions (one category), and the working copy keeps them', async () => {
    const schema = `imp${process.pid}_4`
    const lines = (await sourceLines()).filter((l) => (JSON.parse(l) as { streamId: string }).streamId === 'order-2')
    expect(lines.map((l) => (JSON.parse(l) as { position: number }).position).slice(0, 3)).toEqual([3, 8, 13])
    const copy = await replica(schema)
    expect(await importIntoPostgres(copy.db.name, copy.remote.connection, lines)).toMatchObject({ events: 8, mode: 'restore' })
    await copy.sync()
    expect(await exported(copy)).toBe(lines.join('\n') + '\n')
    // Appends go on after the last position.
    expect(await copy.appendToStream('order-9', [{ type: 'Tick', data: {} }])).toMatchObject({ firstPosition: 39 })
    await copy.close()
    await dropSchema(server!, schema)
  })

  it('appends to a non-empty server per stream, and a second import of the same file changes nothing', async () => {
    const schema = `imp${process.pid}_2`
    const copy = await replica(schema)
    await copy.appendToStream('cart-1', [{ type: 'Opened', data: {} }])
    const lines = await sourceLines()
    expect(await importIntoPostgres(copy.db.name, copy.remote.connection, lines)).toMatchObject({ events: 40, mode: 'append' })
    await copy.sync()
    expect(copy.head()).toBe(41)
    expect((await copy.readStream('order-3')).events.map((e) => [e.version, e.data.i])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((v) => [v, (v - 1) * 5 + 3]))
    expect(await importIntoPostgres(copy.db.name, copy.remote.connection, lines)).toMatchObject({ events: 0, skipped: 40 })
    expect(await copy.remote.headPosition()).toBe(41)
    await copy.close()
    await dropSchema(server!, schema)
  })

  it('stores nothing when a line is bad or when someone appended to an imported stream meanwhile', async () => {
    const schema = `imp${process.pid}_3`
    const copy = await replica(schema)
    await copy.appendToStream('cart-1', [{ type: 'Opened', data: {} }])
    const lines = await sourceLines()
    const bad = [...lines.slice(0, 30), '{"streamId": "order-1", "type": 5}', ...lines.slice(30)]
    await expect(importIntoPostgres(copy.db.name, copy.remote.connection, bad)).rejects.toThrow(/Line 31/)
    expect(await copy.remote.headPosition()).toBe(1)

    // The working copy has not seen a teammate's append to order-2: the server refuses the whole import.
    const teammate = await openTestStore(server!, { schema })
    await teammate.appendToStream('order-2', [{ type: 'Noted', data: {} }])
    await expect(importIntoPostgres(copy.db.name, copy.remote.connection, lines)).rejects.toMatchObject({ code: 'WrongExpectedVersion', message: expect.stringContaining('order-2') })
    expect((await postgresSide(teammate).events(0, 100)).map((e) => e.streamId)).toEqual(['cart-1', 'order-2'])
    await teammate.close()
    await copy.close()
    await dropSchema(server!, schema)
  })
})
