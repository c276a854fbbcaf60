import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { MigrationReport } from '../../shared/contract/upcasting'
import { RpcError } from '../../shared/rpc/errors'
import { inThreadRunner } from '../cqrs/runner'
import { describeFile } from '../projections/descriptors'
import { ProjectionEngine } from '../projections/engine'
import { quote, sqlTableName } from '../projections/tables'
import { SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'
import { importEvents, rowToLine, type WorkProgress } from '../store/ndjson'
import { SqliteEventStore } from '../store/sqlite-store'
import { readConfig, writeConfig } from '../workspace/config'
import { workspacePaths } from '../workspace/location'
import { AsReadLog, readLogAsRead, upcasterContext } from './as-read'

export interface MigrationTask {
  dbFile: string
  /** The workspace folder being migrated (its workbench.json is copied). */
  dir: string
  /** The new workspace folder: missing or empty. */
  target: string
  prelude: string
  /** The workspace's definition files: copied to the new workspace; upcasters and projections are run. */
  files: Array<[string, string]>
}

/** Written next to the new store: the switch refuses a workspace whose migration was not verified. */
export const MIGRATION_FILE = 'migration.json'

/**
 * Copy-and-transform: writes a new workspace whose store holds every event as read through the upcasters (stream
 * ids, versions, ids and order kept; positions renumbered; a split's extra events get derived ids and move the
 * stream's later versions up), in one transaction, then verifies it: event counts per stream, and every projection
 * rebuilt on the old store (reading through the upcasters) and on the new one gives the same rows. The old
 * workspace is only read. A failed or cancelled run removes the new folder.
 */
export async function migrateJob(task: MigrationTask, progress: WorkProgress): Promise<MigrationReport> {
  const started = Date.now()
  const target = resolve(task.target)
  if (resolve(task.dir) === target) throw new RpcError('InvalidInput', 'The migration target must be a new folder, not the workspace itself', { field: 'target' })
  if (existsSync(target) && readdirSync(target).length > 0) throw new RpcError('InvalidInput', `The migration target ${target} is not empty`, { field: 'target' })
  mkdirSync(target, { recursive: true })
  const old = new SqliteEventStore(task.dbFile)
  let done = false
  try {
    // The workspace's files, so the new workspace runs the same code.
    const config = readConfig(task.dir)
    // The new workspace keeps its log in its own events.db, even when the old one's lives in PostgreSQL.
    const { store: _store, ...own } = config
    writeConfig(target, { ...own, name: `${config.name} (migrated)` })
    for (const [file, source] of task.files) {
      const path = join(target, file)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, source)
    }
    const paths = workspacePaths(target)
    const fresh = new SqliteEventStore(paths.database)
    try {
      // 1. The events as read, stored in one transaction (the import is all or nothing).
      const context = upcasterContext(task.prelude, task.files, progress.watch)
      const log = new AsReadLog(context, { checkStable: true })
      const head = old.head()
      const lines = function* () {
        for (const rows of readLogAsRead(old, log, { isCancelled: progress.isCancelled, onProgress: (p) => progress.onProgress?.(p, head * 2) })) {
          for (const row of rows) yield rowToLine(row).slice(0, -1)
        }
      }
      await importEvents(fresh, lines())
      copyStreamStates(old, fresh)

      // 2. Per stream: the old count plus what splits added.
      const before = new Map(old.db.prepare<[], { stream_id: string; n: number }>('SELECT stream_id, count(*) AS n FROM events GROUP BY stream_id').all().map((r) => [r.stream_id, r.n]))
      const after = new Map(fresh.db.prepare<[], { stream_id: string; n: number }>('SELECT stream_id, count(*) AS n FROM events GROUP BY stream_id').all().map((r) => [r.stream_id, r.n]))
      const streamMismatches: MigrationReport['streamMismatches'] = []
      for (const streamId of new Set([...before.keys(), ...after.keys()])) {
        const expected = (before.get(streamId) ?? 0) + (log.gained().get(streamId) ?? 0)
        const actual = after.get(streamId) ?? 0
        if (expected !== actual) streamMismatches.push({ streamId, expected, actual })
      }

      // 3. Every projection rebuilt on both stores gives the same rows.
      const projections = await verifyProjections(old, fresh, task, progress, head)
      const eventsBefore = [...before.values()].reduce((a, b) => a + b, 0)
      const eventsAfter = fresh.head()
      const report: MigrationReport = {
        target,
        eventsBefore,
        eventsAfter,
        streams: after.size,
        durationMs: Date.now() - started,
        streamMismatches,
        projections,
        unstable: log.unstable,
        verified: streamMismatches.length === 0 && log.unstable.length === 0 && projections.every((p) => p.equal)
      }
      writeFileSync(join(target, MIGRATION_FILE), JSON.stringify({ from: resolve(task.dir), ...report }, null, 2))
      done = true
      return report
    } finally {
      await fresh.close()
    }
  } finally {
    await old.close()
    if (!done) rmSync(target, { recursive: true, force: true })
  }
}

/** Soft deletes, tombstones and stream metadata go with the streams. */
function copyStreamStates(from: SqliteEventStore, to: SqliteEventStore) {
  const rows = from.db
    .prepare<[], { stream_id: string; state: number; deleted_before: number; metadata: string; restricted: number }>(
      "SELECT stream_id, state, deleted_before, metadata, restricted FROM streams WHERE state <> 0 OR metadata <> '{}' OR restricted <> 0"
    )
    .all()
  if (!rows.length) return
  const update = to.db.prepare('UPDATE streams SET state = ?, deleted_before = ?, metadata = ?, restricted = ? WHERE stream_id = ?')
  to.writeTransaction(() => {
    for (const r of rows) update.run(r.state, r.deleted_before, r.metadata, r.restricted, r.stream_id)
  })
}

async function verifyProjections(old: SqliteEventStore, fresh: SqliteEventStore, task: MigrationTask, progress: WorkProgress, head: number): Promise<MigrationReport['projections']> {
  const files = task.files.filter(([file]) => file.startsWith('projections/'))
  if (!files.length) return []
  const context = new SandboxContext(task.prelude, progress.watch)
  for (const [file, source] of task.files) {
    if (!file.startsWith('upcasters/') && !file.startsWith('projections/')) continue
    const loaded = context.load(file, source)
    if (!loaded.ok) throw userCodeError(loaded.failure, `loading ${file}`)
  }
  const runner = inThreadRunner(context)
  const scratch = join(tmpdir(), `esw-verify-${randomBytes(4).toString('hex')}.db`)
  old.db.exec(`ATTACH DATABASE '${scratch.replace(/'/g, "''")}' AS verify`)
  old.db.exec(`ATTACH DATABASE '${workspacePaths(task.target).database.replace(/'/g, "''")}' AS migrated`)
  try {
    const out: MigrationReport['projections'] = []
    for (const [file] of files) {
      for (const d of describeFile(context, file)) {
        if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'The migration was cancelled')
        // The old log through the upcasters, into a scratch database; the new log into the new workspace's tables.
        const a = await new ProjectionEngine(old, runner, d, { schema: 'verify' }).runToHead()
        const b = await new ProjectionEngine(fresh, runner, d).runToHead()
        progress.onProgress?.(head + Math.round(head * ((out.length + 1) / Math.max(files.length, 1))), head * 2)
        const differences: string[] = []
        // A projection that fails on the same event of both stores, the same way, projects the two logs alike: the
        // fault is in the projection, not in the migration (its tables are compared up to there).
        const sameFault = a.kind === 'faulted' && b.kind === 'faulted' && a.fault.streamId === b.fault.streamId && a.fault.type === b.fault.type && a.fault.message === b.fault.message
        if (a.kind === 'faulted' && !sameFault) differences.push(`faulted on the old store at position ${a.fault.position} (${a.fault.type}): ${a.fault.message}`)
        if (b.kind === 'faulted' && !sameFault) differences.push(`faulted on the new store at position ${b.fault.position} (${b.fault.type}): ${b.fault.message}`)
        for (const [table, def] of Object.entries(d.tables)) {
          const t = quote(sqlTableName(d.name, table))
          const columns = Object.keys(def.columns).map(quote).join(', ')
          const count = (sql: string) => (old.db.prepare(sql).get() as { n: number }).n
          const onlyOld = count(`SELECT count(*) AS n FROM (SELECT ${columns} FROM verify.${t} EXCEPT SELECT ${columns} FROM migrated.${t})`)
          const onlyNew = count(`SELECT count(*) AS n FROM (SELECT ${columns} FROM migrated.${t} EXCEPT SELECT ${columns} FROM verify.${t})`)
          if (onlyOld || onlyNew) differences.push(`${table}: ${onlyOld} rows only in the rebuild on the old store, ${onlyNew} only on the new store`)
        }
        out.push({ name: d.name, equal: differences.length === 0, differences, ...(sameFault ? { note: `faults on both stores at ${a.fault.type} in ${a.fault.streamId}: ${a.fault.message}` } : {}) })
      }
    }
    return out
  } finally {
    old.db.exec('DETACH DATABASE verify')
    old.db.exec('DETACH DATABASE migrated')
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(scratch + suffix, { force: true })
  }
}

/** Reads the verification a migration left in a folder (null when there is none). */
export function readMigration(dir: string): (MigrationReport & { from: string }) | null {
  const file = join(dir, MIGRATION_FILE)
  if (!existsSync(file)) return null
  return JSON.parse(readFileSync(file, 'utf8')) as MigrationReport & { from: string }
}
