/** esw copy between a SQLite workspace and PostgreSQL, both ways, verified; the password only ever in ESW_PG_PASSWORD. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerScript } from '../../main/jobs/worker-path'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import { postgresSide, sqliteSide, verifyCopy } from '../../main/store/postgres-copy'
import { dropSchema, openTestStore, pgBinaries, startPgTestServer, stopPgTestServer, type PgTestServer } from '../../main/store/postgres-test-server'
import type { EventStore } from '../../main/store/types'

let server: PgTestServer | undefined
let dir: string
let cli: string

function esw(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** A log with what a copy must keep: metadata, a soft delete and revival, a tombstone, scavenged gaps, odd data. */
async function fill(store: EventStore) {
  await store.appendToStream('order-1', [
    { type: 'OrderPlaced', data: { total: 12.5, note: 'Grüße "quoted" \\ back' }, metadata: { correlationId: 'c-1' } },
    { type: 'ItemAdded', data: { sku: 'a', nested: { list: [1, 2, { x: null }] } }, schemaVersion: 2 }
  ])
  await store.appendToStream('cart-1', Array.from({ length: 5 }, (_, i) => ({ type: 'CartTouched', data: { i } })))
  await store.setStreamMetadata('cart-1', { truncateBefore: 3, custom: { owner: 'team-a' } })
  await store.appendToStream('gone-1', [{ type: 'A', data: {} }])
  await store.deleteStream('gone-1', { mode: 'tombstone' })
  await store.appendToStream('soft-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }])
  await store.deleteStream('soft-1', { mode: 'soft' })
  await store.appendToStream('soft-1', [{ type: 'C', data: {} }])
  await store.scavenge()
  await store.appendToStream('order-2', [{ type: 'OrderPlaced', data: { total: 1 } }])
}

describe.skipIf(!pgBinaries)('esw copy between SQLite and PostgreSQL', () => {
  beforeAll(async () => {
    server = await startPgTestServer()
    dir = mkdtempSync(join(tmpdir(), 'esw-pgcopy-'))
    cli = workerScript('cli', join(__dirname, '..', '..', 'main', 'cli', 'main.ts'))
  })
  afterAll(() => {
    stopPgTestServer(server)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('copies a SQLite log to PostgreSQL and back exactly, verified, and refuses a non-empty target', async () => {
    const ws = join(dir, 'source')
    expect(esw(['init', ws]).code).toBe(0)
    const sqlite = new SqliteEventStore(join(ws, 'events.db'))
    await fill(sqlite)
    const expectedAll = (await sqlite.readAll({ limit: 1000 })).events
    const expectedStreams = (await sqlite.listStreams({ includeDeleted: true })).streams
    await sqlite.close()

    const url = `${server!.url}?schema=copied`
    const env = { ESW_PG_PASSWORD: server!.password }
    const there = esw(['copy', ws, url], env)
    expect(there.stderr).toBe('')
    expect(there.code).toBe(0)
    const result = JSON.parse(there.stdout) as Record<string, unknown>
    expect(result).toMatchObject({ events: 7, streams: 5, headPosition: 12, verified: true })
    expect(there.stdout).not.toContain(server!.password)

    // Read through the PostgreSQL store: the same visible log, the same streams, the same states.
    const pg = await openTestStore(server!, { schema: 'copied' })
    try {
      expect((await pg.readAll({ limit: 1000 })).events).toEqual(expectedAll)
      expect((await pg.listStreams({ includeDeleted: true })).streams).toEqual(expectedStreams)
      await expect(pg.appendToStream('gone-1', [{ type: 'X', data: {} }])).rejects.toMatchObject({ code: 'StreamDeleted' })
      expect(await pg.appendToStream('soft-1', [{ type: 'D', data: {} }], { expectedVersion: 3 })).toMatchObject({ firstPosition: 13, nextExpectedVersion: 4 })
    } finally {
      await pg.close()
    }

    // Into a non-empty target: refused, nothing changed.
    const again = esw(['copy', ws, url], env)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('not empty')

    // And back into a new workspace: the export of both workspaces is the same bytes up to the event appended above.
    const back = join(dir, 'back')
    const home = esw(['copy', url, back], env)
    expect(home.stderr).toBe('')
    expect(home.code).toBe(0)
    expect(JSON.parse(home.stdout)).toMatchObject({ events: 8, headPosition: 13, verified: true })
    const exported = (w: string) => esw(['export', w, '--to-position', '12']).stdout
    expect(exported(back)).toBe(exported(ws))
    expect(exported(back).split('\n').filter(Boolean)).toHaveLength(expectedAll.length)
    const copiedBack = new SqliteEventStore(join(back, 'events.db'))
    const original = new SqliteEventStore(join(ws, 'events.db'))
    try {
      expect((await copiedBack.streamInfo('cart-1'))?.metadata).toEqual({ truncateBefore: 3, custom: { owner: 'team-a' } })
      expect((await copiedBack.stats()).eventTypes).toContainEqual({ type: 'D', events: 1 })
      // A finished copy verifies; two different logs do not.
      const pgAgain = await openTestStore(server!, { schema: 'copied' })
      try {
        await expect(verifyCopy(postgresSide(pgAgain), sqliteSide(copiedBack))).resolves.toMatchObject({ verified: true, events: 8 })
        await expect(verifyCopy(sqliteSide(original), sqliteSide(copiedBack))).rejects.toThrow(/verification failed/)
      } finally {
        await pgAgain.close()
      }
    } finally {
      await copiedBack.close()
      await original.close()
    }
    await dropSchema(server!, 'copied')
  })

  it('refuses a password in the URL and writes the password nowhere', () => {
    const ws = join(dir, 'pw')
    esw(['init', ws])
    const withPassword = server!.url.replace('esw@', `esw:${server!.password}@`)
    const r = esw(['copy', ws, withPassword])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('ESW_PG_PASSWORD')
    expect(r.stderr).not.toContain(server!.password)
    const wrong = esw(['copy', ws, `${server!.url}?schema=nowhere`], { ESW_PG_PASSWORD: 'not-the-password' })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('password authentication failed')
    for (const name of readdirSync(ws)) {
      if (name.endsWith('.json')) expect(readFileSync(join(ws, name), 'utf8')).not.toContain(server!.password)
    }
  })
})
