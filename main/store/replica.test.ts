import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEventStoreConformance } from './store.conformance'
import { dropSchema, openTestStore, pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from './postgres-test-server'
import { postgresSide, sqliteSide } from './postgres-copy'
import { ReplicaEventStore, type ReplicationState } from './replica'

let server: PgTestServer | undefined
let dirs: string[] = []
let schemas = 0

const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'esw-replica-'))
  dirs.push(dir)
  return join(dir, 'events.db')
}

const openReplica = (schema: string, options: { now?: () => number; file?: string } = {}) =>
  ReplicaEventStore.open(options.file ?? tempFile(), { url: server!.url, password: server!.password, schema, pollIntervalMs: 50, ...(options.now ? { now: options.now } : {}) }, { now: options.now, pollIntervalMs: 20, checkEveryMs: 100, busyTimeoutMs: 50 })

const newSchema = () => `r${process.pid}_${++schemas}`

/** Two working copies of one new store; closed and the store dropped afterwards. */
async function withTwoCopies(fn: (a: ReplicaEventStore, b: ReplicaEventStore) => Promise<void>): Promise<void> {
  const schema = newSchema()
  const a = await openReplica(schema)
  const b = await openReplica(schema)
  try {
    await fn(a, b)
  } finally {
    await a.close()
    await b.close()
    await dropSchema(server!, schema)
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.skipIf(!pgBinaries)('a working copy of a PostgreSQL log', () => {
  beforeAll(async () => {
    server = await startPgTestServer()
  })
  afterAll(() => {
    stopPgTestServer(server)
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    dirs = []
  })

  // The workbench reads the working copy and writes through it: it must behave as any event store.
  describeEventStoreConformance('PostgreSQL working copy', async () => {
    let now = Date.now()
    const schema = newSchema()
    const store = await openReplica(schema, { now: () => now })
    const others: ReplicaEventStore[] = []
    return {
      store,
      advanceClock: (ms) => (now += ms),
      openAnother: async () => {
        const other = await openReplica(schema, { now: () => now })
        others.push(other)
        return other
      },
      dispose: async () => {
        for (const o of others) await o.close()
        await store.close()
        await dropSchema(server!, schema)
      }
    }
  })

  describe('working copy specifics', () => {
    it('keeps the same events at the same positions, ids and times as the server, and follows others', () =>
      withTwoCopies(async (a, b) => {
        await a.appendToStream('order-1', [{ type: 'OrderPlaced', data: { total: 5 } }, { type: 'ItemAdded', data: { sku: 'x' } }])
        await b.appendToStream('cart-1', [{ type: 'CartOpened', data: {} }], { expectedVersion: 'no-stream' })
        await a.appendToStream('order-1', [{ type: 'OrderPaid', data: {} }], { expectedVersion: 2 })
        await until(() => a.head() === 4 && b.head() === 4, 'both copies at the head')
        const server = await postgresSide(a.remote).events(0, 100)
        expect(await sqliteSide(a).events(0, 100)).toEqual(server)
        expect(await sqliteSide(b).events(0, 100)).toEqual(server)
        expect(server.map((e) => [e.position, e.streamId, e.version])).toEqual([
          [1, 'order-1', 1],
          [2, 'order-1', 2],
          [3, 'cart-1', 1],
          [4, 'order-1', 3]
        ])
        expect(b.replication()).toMatchObject({ serverHead: 4, localHead: 4, error: null })
      }))

    it('lets the server decide a version conflict between two copies, and stores nothing for the loser', () =>
      withTwoCopies(async (a, b) => {
        await a.appendToStream('order-1', [{ type: 'OrderPlaced', data: {} }], { expectedVersion: 'no-stream' })
        await expect(b.appendToStream('order-1', [{ type: 'OrderPlaced', data: {} }], { expectedVersion: 'no-stream' })).rejects.toMatchObject({
          code: 'WrongExpectedVersion'
        })
        expect(b.head()).toBe(1)
        expect((await postgresSide(b.remote).events(0, 10)).length).toBe(1)
      }))

    it("copies others' metadata and tombstones", () =>
      withTwoCopies(async (a, b) => {
        await a.appendToStream('order-1', [1, 2, 3].map((n) => ({ type: 'Tick', data: { n } })))
        await a.setStreamMetadata('order-1', { maxCount: 1 })
        await a.appendToStream('order-2', [{ type: 'Tick', data: {} }])
        await a.deleteStream('order-2', { mode: 'tombstone' })
        await b.sync({ streams: true })
        expect((await b.readStream('order-1')).events.map((e) => e.data)).toEqual([{ n: 3 }])
        await expect(b.appendToStream('order-2', [{ type: 'Tick', data: {} }])).rejects.toMatchObject({ code: 'StreamDeleted' })
      }))

    it('runs an append hook in the copy\'s transaction, and keeps the events when a stale hook refuses them', () =>
      withTwoCopies(async (a, b) => {
        const seen: number[] = []
        await a.appendToStream('s-1', [{ type: 'A', data: {} }], { inTransaction: (r) => void seen.push(r.firstPosition!) })
        expect(seen).toEqual([1])
        // Another copy appends; a hook that predicted position 2 refuses, as an inline projection does.
        await b.appendToStream('s-2', [{ type: 'B', data: {} }])
        const id = '0190e7e0-0000-7000-8000-000000000001'
        await expect(
          a.appendToStream('s-1', [{ type: 'C', data: {}, id }], {
            inTransaction: (r) => {
              if (r.firstPosition !== 2) throw new Error('moved')
            }
          })
        ).rejects.toThrow('moved')
        expect(a.head()).toBe(3)
        // The retry is recognised as the same append.
        const again = await a.appendToStream('s-1', [{ type: 'C', data: {}, id }])
        expect(again).toMatchObject({ duplicate: true, firstPosition: 3 })
        expect(await sqliteSide(a).events(0, 10)).toEqual(await postgresSide(a.remote).events(0, 10))
      }))

    it('says the server cannot be reached and what is known of the write, and keeps reading the copy', async () => {
      const own = await startPgTestServer()
      let stopped = false
      const copy = await ReplicaEventStore.open(tempFile(), { url: own.url, password: own.password, schema: 'away' }, { checkEveryMs: 50 })
      const told: ReplicationState[] = []
      copy.onReplication((state) => told.push(state))
      try {
        await copy.appendToStream('s-1', [{ type: 'A', data: {} }])
        stopPgTestServer(own)
        stopped = true
        await expect(copy.appendToStream('s-1', [{ type: 'B', data: {} }])).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringContaining('cannot be reached') })
        // Once the pool's connections are gone, a new one is refused: nothing reached the server.
        await expect(copy.appendToStream('s-1', [{ type: 'B', data: {} }])).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringContaining('nothing was written') })
        expect(copy.head()).toBe(1)
        expect((await copy.readStream('s-1')).events.map((e) => e.type)).toEqual(['A'])
        await until(() => copy.replication().error?.includes('cannot be reached') ?? false, 'the copy to say the server is away')
        expect(told.at(-1)?.error).toContain('cannot be reached')
        await expect(copy.sync()).rejects.toMatchObject({ code: 'Unavailable' })
      } finally {
        await copy.close()
        if (!stopped) stopPgTestServer(own)
      }
    })

    it('keeps a stream row until its events are copied (a tombstone seen first refuses nothing)', () =>
      withTwoCopies(async (a, b) => {
        await a.appendToStream('x-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }])
        await a.deleteStream('x-1', { mode: 'tombstone' })
        // The rows first, before the events have arrived: the tombstone waits for them.
        await (b as unknown as { syncStreamRows(): Promise<void> }).syncStreamRows()
        await b.sync()
        expect(b.head()).toBe(2)
        expect(await b.streamInfo('x-1')).toMatchObject({ state: 'tombstoned', version: 2 })
        await b.appendToStream('y-1', [{ type: 'C', data: {} }])
        expect(b.head()).toBe(3)
      }))

    it("takes the server's row after a delete, with what others appended first", () =>
      withTwoCopies(async (a, b) => {
        await a.appendToStream('z-1', [{ type: 'A', data: {} }])
        await b.sync()
        // a appends again; b deletes without having copied it: the server deletes both, and so does b's copy.
        await a.appendToStream('z-1', [{ type: 'B', data: {} }])
        const info = await b.deleteStream('z-1')
        expect(info).toMatchObject({ state: 'deleted', version: 2 })
        expect((await b.readStream('z-1')).events).toEqual([])
        // A stream someone created with metadata only, soft-deleted by another copy.
        await a.setStreamMetadata('meta-1', { maxCount: 3 })
        await expect(b.deleteStream('meta-1')).resolves.toMatchObject({ streamId: 'meta-1' })
      }))

    // The copy's connection waits 50 ms at a time, as the app's does, so the lock holder here (same thread) gets to run.
    it('waits for another connection that holds the write lock on the copy (a job thread), then copies', () =>
      withTwoCopies(async (a, b) => {
        const job = new Database(b.db.name)
        job.exec('BEGIN IMMEDIATE')
        await a.appendToStream('q-1', [{ type: 'A', data: {} }])
        const syncing = b.sync()
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(b.head()).toBe(0)
        job.exec('COMMIT')
        job.close()
        await syncing
        expect(b.head()).toBe(1)
      }))

    it('says plainly when the server scavenged events of a stream the copy had not taken', async () => {
      const schema = newSchema()
      const file = tempFile()
      const first = await openReplica(schema, { file })
      await first.appendToStream('keep-1', [{ type: 'A', data: {} }])
      await first.close()
      const direct = await openTestStore(server!, { schema })
      await direct.setStreamMetadata('x-1', { maxCount: 2 })
      await direct.appendToStream('x-1', [1, 2, 3, 4, 5].map((n) => ({ type: 'Tick', data: { n } })))
      await direct.appendToStream('keep-1', [{ type: 'B', data: {} }])
      expect((await direct.scavenge()).removedEvents).toBe(3)
      await expect(openReplica(schema, { file })).rejects.toThrow(/lacks versions 1–3 of x-1: a scavenge on the server removed events the copy had not taken/)
      await direct.close()
      await dropSchema(server!, schema)
    })

    it('runs an append hook once over the whole append, however many events it holds', () =>
      withTwoCopies(async (a) => {
        const calls: Array<[number, number]> = []
        const events = Array.from({ length: 2500 }, (_, i) => ({ type: 'Tick', data: { i } }))
        await a.appendToStream('big-1', events, { inTransaction: (r) => void calls.push([r.firstPosition!, r.lastPosition!]) })
        expect(calls).toEqual([[1, 2500]])
        expect(a.head()).toBe(2500)
      }))

    it('takes its first copy from one snapshot while others append', async () => {
      const schema = newSchema()
      const direct = await openTestStore(server!, { schema })
      for (let i = 0; i < 40; i++) await direct.appendToStream(`s-${i % 7}`, Array.from({ length: 50 }, (_, k) => ({ type: 'E', data: { i, k } })))
      let appending = true
      const writer = (async () => {
        for (let i = 0; appending; i++) await direct.appendToStream(`w-${i % 3}`, [{ type: 'W', data: { i } }])
      })()
      const copy = await openReplica(schema)
      await new Promise((resolve) => setTimeout(resolve, 100))
      appending = false
      await writer
      await until(async () => copy.head() === (await direct.headPosition()), 'the copy to catch up')
      expect(await sqliteSide(copy).events(0, 10_000)).toEqual(await postgresSide(direct).events(0, 10_000))
      await copy.close()
      await direct.close()
      await dropSchema(server!, schema)
    })

    it('takes a whole copy of an existing log, and refuses a working copy of another log', async () => {
      const schema = newSchema()
      const direct = await openTestStore(server!, { schema })
      for (let i = 0; i < 30; i++) await direct.appendToStream(`s-${i % 4}`, [{ type: 'E', data: { i } }])
      const file = tempFile()
      const copy = await openReplica(schema, { file })
      expect(copy.head()).toBe(30)
      expect(await sqliteSide(copy).events(0, 100)).toEqual(await postgresSide(direct).events(0, 100))
      await copy.close()
      const other = newSchema()
      const otherStore = await openTestStore(server!, { schema: other })
      for (let i = 0; i < 30; i++) await otherStore.appendToStream('x-1', [{ type: 'F', data: { i } }])
      await expect(openReplica(other, { file })).rejects.toThrow(/not the log of/)
      await otherStore.close()
      await direct.close()
      await dropSchema(server!, schema)
      await dropSchema(server!, other)
    })
  })
})
