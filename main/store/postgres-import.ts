/**
 * NDJSON import into a workspace whose log lives in PostgreSQL. The file is first imported into a scratch copy of
 * the working copy with the SQLite import (every line checked, the error naming its line, versions checked against
 * the log as the copy has it); only a file that imports whole there reaches the server, in one transaction:
 * - into an empty server, the whole log as the file has it (positions, ids, versions, times kept), verified;
 * - otherwise the new events in the file's order, each run of one stream's events as an append expecting the version
 *   the scratch copy checked, so an append by someone else in the meantime refuses the import (nothing stored)
 *   instead of interleaving with it.
 * The working copy then takes the new events from the server as it takes any.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { NewEvent } from '../../shared/model/events'
import { importEvents, type ImportResult, type WorkProgress } from './ndjson'
import { copyLog, postgresSide, sqliteSide, type StoredEvent } from './postgres-copy'
import { PostgresEventStore, type PostgresStoreOptions } from './postgres-store'
import { SqliteEventStore } from './sqlite-store'

const PAGE = 5000

export async function importIntoPostgres(
  workingCopy: string,
  server: PostgresStoreOptions,
  lines: AsyncIterable<string> | Iterable<string>,
  progress: WorkProgress & { totalBytes?: number } = {}
): Promise<ImportResult> {
  const dir = mkdtempSync(join(tmpdir(), 'esw-pg-import-'))
  const scratchFile = join(dir, 'import.db')
  try {
    const source = new Database(workingCopy, { readonly: true })
    try {
      source.prepare('VACUUM INTO ?').run(scratchFile)
    } finally {
      source.close()
    }
    const scratch = new SqliteEventStore(scratchFile)
    try {
      const base = scratch.head()
      const result = await importEvents(scratch, lines, progress)
      if (result.events === 0) return result
      const store = await PostgresEventStore.open({ ...server, pollIntervalMs: 60_000 })
      try {
        if (result.mode === 'restore') {
          // The copy checks the server is still empty, in the same transaction that writes the log.
          await copyLog(sqliteSide(scratch), postgresSide(store))
        } else {
          await store.appendAll(await newAppends(scratch, base), progress)
        }
      } finally {
        await store.close()
      }
      return result
    } finally {
      await scratch.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The events after `base` in log order, as appends: one per run of one stream's events recorded at one time, each
 * expecting the version before its first event.
 */
async function newAppends(scratch: SqliteEventStore, base: number) {
  const side = sqliteSide(scratch)
  const runs: StoredEvent[][] = []
  for (let after = base; ; ) {
    const page = await side.events(after, PAGE)
    if (page.length === 0) break
    for (const e of page) {
      const run = runs[runs.length - 1]
      const last = run?.[run.length - 1]
      if (last && last.streamId === e.streamId && last.recordedAt === e.recordedAt && last.version + 1 === e.version) run.push(e)
      else runs.push([e])
    }
    after = page[page.length - 1].position
  }
  return runs.map((stored) => ({
    streamId: stored[0].streamId,
    expectedVersion: stored[0].version - 1,
    recordedAt: stored[0].recordedAt,
    events: stored.map(
      (e): NewEvent => ({
        type: e.type,
        data: JSON.parse(e.data) as Record<string, unknown>,
        ...(e.metadata !== null ? { metadata: JSON.parse(e.metadata) as Record<string, unknown> } : {}),
        id: e.id,
        schemaVersion: e.schemaVersion
      })
    )
  }))
}
