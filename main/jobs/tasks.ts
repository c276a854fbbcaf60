import { createReadStream, closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import type { EventFilter } from '../../shared/model/events'
import { RpcError } from '../../shared/rpc/errors'
import { CONFIG_FILE, readConfig } from '../workspace/config'
import { exportEvents, importEvents, type WorkProgress } from '../store/ndjson'
import { importIntoPostgres } from '../store/postgres-import'
import { PostgresEventStore, type PostgresStoreOptions } from '../store/postgres-store'
import { SqliteEventStore } from '../store/sqlite-store'
import { projectionJob, type ProjectionTask } from './projection-job'
import { replayJob } from './replay-job'
import { seedDemo } from './seed-demo'
import { AsReadLog, upcasterContext } from '../versioning/as-read'
import { dryRunJob, type DryRunTask } from '../versioning/dry-run'
import { migrateJob, type MigrationTask } from '../versioning/migrate'
import { branchJob, type BranchTask } from '../sagas/branch'

/** What a job worker can be asked to do; everything it needs travels as plain data. */
export type JobTask =
  | { kind: 'export'; dbFile: string; outFile: string; filter: EventFilter; upcast?: { prelude: string; files: Array<[string, string]> } }
  /** With `postgres`, dbFile is the working copy of that store's log and the events go to the server (store/postgres-import.ts). */
  | { kind: 'import'; dbFile: string; inFile: string; postgres?: Pick<PostgresStoreOptions, 'url' | 'schema' | 'password'> }
  /** With `postgres`, the server is scavenged, then its working copy dbFile (the same metadata hides the same events). */
  | { kind: 'scavenge'; dbFile: string; postgres?: Pick<PostgresStoreOptions, 'url' | 'schema' | 'password'> }
  | { kind: 'seed'; dbFile: string; dir: string; prelude?: string; historyFiles?: Record<string, string>; targetEvents?: number }
  | { kind: 'replay'; dbFile: string; dir: string; prelude: string; category?: string; decider?: string }
  | ({ kind: 'projection' } & ProjectionTask)
  | ({ kind: 'dry-run' } & DryRunTask)
  | ({ kind: 'migrate' } & MigrationTask)
  | ({ kind: 'branch' } & BranchTask)

function keepsLogInPostgres(dir: string): boolean {
  try {
    return existsSync(join(dir, CONFIG_FILE)) && readConfig(dir).store?.kind === 'postgres'
  } catch {
    return false
  }
}

/** Runs one task on its own connection to the workspace database. */
export async function runTask(task: JobTask, progress: WorkProgress): Promise<unknown> {
  if (task.kind === 'replay') return replayJob(task, progress)
  if (task.kind === 'projection') return projectionJob(task, progress)
  if (task.kind === 'dry-run') return dryRunJob(task, progress)
  if (task.kind === 'migrate') return migrateJob(task, progress)
  if (task.kind === 'branch') return branchJob(task, progress)
  if (task.kind === 'seed') return seedDemo({ ...task, prelude: task.prelude ?? '', historyFiles: task.historyFiles ?? {} }, progress)
  // events.db of a PostgreSQL workspace is only its working copy: what would write it directly goes to the server.
  if ((task.kind === 'import' || task.kind === 'scavenge') && !task.postgres && keepsLogInPostgres(dirname(task.dbFile))) {
    throw new RpcError('InvalidInput', `${dirname(task.dbFile)} keeps its log in PostgreSQL; events.db is only its working copy, so the ${task.kind} must go to the server`)
  }
  const store = new SqliteEventStore(task.dbFile)
  try {
    if (task.kind === 'export') {
      const fd = openSync(task.outFile, 'w')
      try {
        const asRead = task.upcast ? new AsReadLog(upcasterContext(task.upcast.prelude, task.upcast.files, progress.watch)) : undefined
        return await exportEvents(store, task.filter, (chunk) => void writeSync(fd, chunk), progress, asRead && ((rows) => asRead.read(rows)))
      } finally {
        closeSync(fd)
      }
    }
    if (task.kind === 'import') {
      const totalBytes = statSync(task.inFile).size
      const lines = createInterface({ input: createReadStream(task.inFile, { encoding: 'utf8' }), crlfDelay: Infinity })
      if (task.postgres) return await importIntoPostgres(task.dbFile, task.postgres, lines, { ...progress, totalBytes })
      return await importEvents(store, lines, { ...progress, totalBytes })
    }
    if (task.postgres) {
      const server = await PostgresEventStore.open({ ...task.postgres, pollIntervalMs: 60_000 })
      try {
        const report = await server.scavenge(progress)
        store.scavengeSync()
        return report
      } finally {
        await server.close()
      }
    }
    return store.scavengeSync(progress)
  } finally {
    await store.close()
  }
}
