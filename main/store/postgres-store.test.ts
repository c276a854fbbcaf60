import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEventStoreConformance } from './store.conformance'
import { dropSchema, openTestStore, pgBinaries, rawClient, startPgTestServer, stopPgTestServer, type PgTestServer } from './postgres-test-server'
import { PostgresEventStore } from './postgres-store'

let server: PgTestServer | undefined

describe.skipIf(!pgBinaries)('PostgreSQL store', () => {
  beforeAll(async () => {
    server = await startPgTestServer()
  })
  afterAll(() => stopPgTestServer(server))

  describeEventStoreConformance('PostgreSQL', async () => {
    let now = Date.now()
    const store = await openTestStore(server!, { now: () => now })
    return {
      store,
      advanceClock: (ms) => (now += ms),
      openAnother: () => openTestStore(server!, { schema: store.schema }),
      dispose: async () => {
        await store.close()
        await dropSchema(server!, store.schema)
      }
    }
  })

  describe('PostgreSQL store specifics', () => {
    it('refuses UPDATE, DELETE and TRUNCATE on stored events at the database level', async () => {
      const store = await openTestStore(server!)
      await store.appendToStream('s-1', [{ type: 'A', data: {} }])
      const raw = await rawClient(server!, store.schema)
      try {
        await expect(raw.query("UPDATE events SET type = 'B'")).rejects.toThrow(/immutable: UPDATE refused/)
        await expect(raw.query('DELETE FROM events')).rejects.toThrow(/immutable: DELETE refused/)
        await expect(raw.query('TRUNCATE events')).rejects.toThrow(/immutable: TRUNCATE refused/)
      } finally {
        await raw.end()
      }
      expect((await store.readStream('s-1')).events[0].type).toBe('A')
      await store.close()
      await dropSchema(server!, store.schema)
    })

    it('never reuses a position after the newest events were scavenged', async () => {
      const store = await openTestStore(server!)
      await store.appendToStream('s-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }])
      await store.deleteStream('s-1', { mode: 'tombstone' })
      const report = await store.scavenge()
      // As in SQLite, the newest row stays (hidden), so the head stays the highest stored position.
      expect(report.removedEvents).toBe(1)
      expect(await store.headPosition()).toBe(2)
      const next = await store.appendToStream('s-2', [{ type: 'C', data: {} }])
      expect(next.firstPosition).toBe(3)
      await store.close()
      await dropSchema(server!, store.schema)
    })

    it('leaves no listening connection behind when closed while it starts to listen', async () => {
      const store = await openTestStore(server!)
      const schema = store.schema
      await store.close()
      // Closed at every moment of the start of listening (connect, LISTEN, reading the head).
      for (let i = 0; i < 30; i++) {
        const s = await openTestStore(server!, { schema })
        s.onAppended(() => {})
        await new Promise((resolve) => setTimeout(resolve, i % 10))
        await s.close()
      }
      const raw = await rawClient(server!)
      try {
        let left = -1
        for (let tries = 0; tries < 50 && left !== 0; tries++) {
          left = (await raw.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'event-workbench-listen'")).rows[0].n as number
          if (left) await new Promise((resolve) => setTimeout(resolve, 20))
        }
        expect(left).toBe(0)
      } finally {
        await raw.end()
      }
      await dropSchema(server!, schema)
    })

    it('takes the password from ESW_PG_PASSWORD and names no password in its location', async () => {
      const saved = process.env.ESW_PG_PASSWORD
      process.env.ESW_PG_PASSWORD = server!.password
      try {
        const store = await PostgresEventStore.open({ url: server!.url, schema: 'envpw' })
        expect(store.location).not.toContain(server!.password)
        await store.appendToStream('s-1', [{ type: 'A', data: {} }])
        await store.close()
        process.env.ESW_PG_PASSWORD = 'wrong'
        await expect(PostgresEventStore.open({ url: server!.url, schema: 'envpw' })).rejects.toThrow(/password authentication failed/)
      } finally {
        if (saved === undefined) delete process.env.ESW_PG_PASSWORD
        else process.env.ESW_PG_PASSWORD = saved
        await dropSchema(server!, 'envpw')
      }
    })

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(PostgresEventStore.open({ url: server!.url, password: server!.password, schema: 'x; DROP TABLE y' })).rejects.toMatchObject({ code: 'InvalidInput' })
    })
  })
})
