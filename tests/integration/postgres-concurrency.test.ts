/**
 * The PostgreSQL store under concurrent writers: exact expected versions across 8 connections, positions gapless and
 * in commit order as a subscriber sees them, and the classic gap problem (a slow transaction committing a lower
 * position after a faster one) that a subscriber must never fall into. Also the notices' fallback when the
 * listening connection is lost.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppendResult, RecordedEvent } from '../../shared/model/events'
import type { AppendedNotice } from '../../main/store/types'
import { waitFor } from '../../main/store/store.conformance'
import type { PostgresEventStore } from '../../main/store/postgres-store'
import { dropSchema, openTestStore, pgBinaries, rawClient, startPgTestServer, stopPgTestServer, type PgTestServer } from '../../main/store/postgres-test-server'

let server: PgTestServer | undefined

describe.skipIf(!pgBinaries)('PostgreSQL store under concurrency', () => {
  beforeAll(async () => {
    server = await startPgTestServer()
  })
  afterAll(() => stopPgTestServer(server))

  async function withStores<T>(count: number, fn: (stores: PostgresEventStore[], schema: string) => Promise<T>): Promise<T> {
    const first = await openTestStore(server!)
    const stores = [first]
    for (let i = 1; i < count; i++) stores.push(await openTestStore(server!, { schema: first.schema, poolSize: 1 }))
    try {
      return await fn(stores, first.schema)
    } finally {
      for (const s of stores) await s.close()
      await dropSchema(server!, first.schema)
    }
  }

  it('8 connections appending with exact expected versions lose and duplicate nothing; positions are gapless and in commit order', async () => {
    await withStores(9, async ([watcher, ...writers], schema) => {
      const seen: RecordedEvent[] = []
      const sub = watcher.subscribe({}, (e) => {
        seen.push(e)
      })
      await sub.caughtUp
      const streams = ['acct-0', 'acct-1', 'acct-2']
      const perWriter = 20
      let clock = 0
      const done: Array<{ result: AppendResult; ids: string[]; start: number; end: number }> = []
      let conflicts = 0
      await Promise.all(
        writers.map(async (store, w) => {
          for (let k = 0; k < perWriter; ) {
            const streamId = streams[(w + k) % streams.length]
            const version = (await store.streamInfo(streamId))?.version ?? 0
            const ids = [randomUUID(), randomUUID()]
            const start = ++clock
            try {
              const result = await store.appendToStream(
                streamId,
                ids.map((id, i) => ({ id, type: 'Deposited', data: { writer: w, k, i } })),
                { expectedVersion: version }
              )
              done.push({ result, ids, start, end: ++clock })
              k++
            } catch (error) {
              if ((error as { code?: string }).code !== 'WrongExpectedVersion') throw error
              conflicts++
            }
          }
        })
      )
      const total = writers.length * perWriter * 2
      await waitFor(() => seen.length >= total, 20_000)
      sub.close()
      await sub.done

      // Nothing lost, nothing twice: exactly the events of the successful appends, each where its append said.
      expect(seen.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      const byId = new Map(seen.map((e) => [e.id, e]))
      expect(byId.size).toBe(total)
      for (const d of done) {
        expect(d.ids.map((id) => byId.get(id)?.position)).toEqual([d.result.firstPosition, d.result.lastPosition])
        expect(d.ids.map((id) => byId.get(id)?.streamId)).toEqual([d.result.streamId, d.result.streamId])
      }
      // Each stream's versions follow one another in position order.
      for (const s of streams) {
        const versions = seen.filter((e) => e.streamId === s).map((e) => e.version)
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1))
      }
      // An append that finished before another began has the lower positions.
      for (const a of done) for (const b of done) if (a.end < b.start) expect(a.result.lastPosition!).toBeLessThan(b.result.firstPosition!)
      // Commit order: one transaction per append, and commit timestamps never go down as positions go up.
      const raw = await rawClient(server!, schema)
      try {
        const rows = (await raw.query<{ position: string; xid: string; committed: Date }>(
          'SELECT position, xmin::text AS xid, pg_xact_commit_timestamp(xmin) AS committed FROM events ORDER BY position'
        )).rows
        expect(rows).toHaveLength(total)
        for (let i = 1; i < rows.length; i++) expect(rows[i].committed.getTime()).toBeGreaterThanOrEqual(rows[i - 1].committed.getTime())
        expect(new Set(rows.map((r) => r.xid)).size).toBe(done.length)
      } finally {
        await raw.end()
      }
      console.log(`8 writers: ${done.length} appends, ${conflicts} refused for a stale expected version and retried`)
    })
  })

  /** Starts an append in a transaction that stays open: it holds the write lock and position(s) until told to end. */
  async function slowAppend(schema: string, streamId: string) {
    const client = await rawClient(server!, schema)
    await client.query('BEGIN')
    const { rows } = await client.query<{ first_position: string }>(
      "SELECT * FROM esw_append($1, $2, 'any', false, ARRAY[$3::uuid], ARRAY['Slow'], ARRAY[1], ARRAY['{}'::json], ARRAY[NULL::json], $4)",
      [streamId, streamId.split('-')[0], randomUUID(), Date.now()]
    )
    return {
      position: Number(rows[0].first_position),
      end: async (how: 'COMMIT' | 'ROLLBACK') => {
        await client.query(how)
        await client.end()
      }
    }
  }

  /** Waits until `done()` or until some connection waits for a lock (an append queued behind the slow one). */
  async function waitForLockWaiterOr(schema: string, done: () => boolean): Promise<boolean> {
    const raw = await rawClient(server!, schema)
    try {
      for (let i = 0; i < 500; i++) {
        if (done()) return false
        const { rows } = await raw.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
        if (rows.length > 0) return true
        await new Promise((r) => setTimeout(r, 10))
      }
      throw new Error('the append neither finished nor waited for a lock')
    } finally {
      await raw.end()
    }
  }

  it('a subscriber never skips an event that a slower transaction commits after a faster one started', async () => {
    await withStores(2, async ([watcher, fast], schema) => {
      const seen: string[] = []
      const sub = watcher.subscribe({}, (e) => {
        seen.push(`${e.position}:${e.streamId}`)
      })
      await sub.caughtUp
      const slow = await slowAppend(schema, 'slow-1')
      try {
        expect(slow.position).toBe(1)
        // A faster writer starts while the slow one is open. With positions from a sequence it would take position 2
        // and commit first, the subscriber would deliver 2 and then never look at 1 again. Here it waits for the lock.
        let fastDone = false
        const fastAppend = fast.appendToStream('fast-1', [{ type: 'Fast', data: {} }]).finally(() => (fastDone = true))
        const waited = await waitForLockWaiterOr(schema, () => fastDone)
        if (waited) {
          expect(fastDone).toBe(false)
          expect(await watcher.headPosition()).toBe(0)
          expect((await watcher.readAll()).events).toEqual([])
        } else {
          await waitFor(() => seen.length > 0)
        }
        await slow.end('COMMIT')
        expect(await fastAppend).toMatchObject({ firstPosition: 2 })
        await waitFor(() => seen.length === 2)
        expect(seen).toEqual(['1:slow-1', '2:fast-1'])
        expect(waited).toBe(true)
      } finally {
        await slow.end('ROLLBACK').catch(() => {})
      }
      sub.close()
    })
  })

  it('a slow append that rolls back leaves no gap: the waiting writer takes its position', async () => {
    await withStores(2, async ([watcher, fast], schema) => {
      const seen: number[] = []
      const sub = watcher.subscribe({}, (e) => {
        seen.push(e.position)
      })
      await sub.caughtUp
      const slow = await slowAppend(schema, 'slow-1')
      let fastDone = false
      const fastAppend = fast.appendToStream('fast-1', [{ type: 'Fast', data: {} }, { type: 'Fast', data: {} }]).finally(() => (fastDone = true))
      await waitForLockWaiterOr(schema, () => fastDone)
      await slow.end('ROLLBACK')
      expect(await fastAppend).toMatchObject({ firstPosition: 1, lastPosition: 2 })
      await waitFor(() => seen.length === 2)
      expect(seen).toEqual([1, 2])
      expect((await watcher.readStream('slow-1')).state).toBe('missing')
      sub.close()
    })
  })

  it('announces every append once, in order, also across a lost listening connection (the poll fills in)', async () => {
    await withStores(2, async ([watcher, writer], schema) => {
      const notices: AppendedNotice[] = []
      const stop = watcher.onAppended((n) => notices.push(n))
      const seen: number[] = []
      const sub = watcher.subscribe({}, (e) => {
        seen.push(e.position)
      })
      await sub.caughtUp
      // Wait until the listening connection is there, then append through another store.
      const raw = await rawClient(server!, schema)
      try {
        await waitFor(() => true)
        for (let i = 0; i < 200; i++) {
          const { rows } = await raw.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'event-workbench-listen' AND query ILIKE 'LISTEN%'")
          if (rows.length) break
          await new Promise((r) => setTimeout(r, 10))
        }
        await writer.appendToStream('a-1', [{ type: 'A', data: {} }])
        await writer.appendToStream('b-1', [{ type: 'B', data: {} }, { type: 'C', data: {} }])
        await waitFor(() => notices.length === 2)
        // The listening connection goes away; appends made meanwhile are announced by the poll.
        await raw.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'event-workbench-listen'")
        await writer.appendToStream('c-1', [{ type: 'D', data: {} }])
        await writer.appendToStream('c-1', [{ type: 'E', data: {} }])
        await writer.appendToStream('d-1', [{ type: 'F', data: {} }])
        await waitFor(() => seen.length === 6)
        await waitFor(() => notices.reduce((sum, n) => sum + n.count, 0) === 6)
        // And once it listens again, notifications carry on.
        await writer.appendToStream('e-1', [{ type: 'G', data: {} }])
        await waitFor(() => seen.length === 7)
        await waitFor(() => notices.reduce((sum, n) => sum + n.count, 0) === 7)
      } finally {
        await raw.end()
      }
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7])
      const covered = notices.flatMap((n) => Array.from({ length: n.lastPosition - n.firstPosition + 1 }, (_, i) => n.firstPosition + i))
      expect(covered).toEqual([1, 2, 3, 4, 5, 6, 7])
      expect(notices.slice(0, 2)).toEqual([
        { streamId: 'a-1', firstPosition: 1, lastPosition: 1, count: 1, types: ['A'] },
        { streamId: 'b-1', firstPosition: 2, lastPosition: 3, count: 2, types: ['B', 'C'] }
      ])
      stop()
      sub.close()
    })
  })
})
