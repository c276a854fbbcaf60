import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadPeer, peerManifest, peerVersion } from './peer-install'
import { fileBytes, type BenchSystem, type ReadAllCursor } from './systems'
import { READ_ALL_PAGE, type BenchEvent } from './workload'

/*
 * Emmett-SQLite (@event-driven-io/emmett-sqlite) as a peer, from tests/bench/peers (see peer-install.ts: installed
 * on demand, never imported statically). The types below are the few parts of its API the benchmark uses.
 */

interface EmmettConnection {
  close(): void
  query<T>(sql: string, values?: unknown[]): Promise<T[]>
  command(sql: string, values?: unknown[]): Promise<unknown>
}

/** An event as Emmett reads it back (both its SQLite and its PostgreSQL store). */
export interface EmmettReadEvent {
  type: string
  data: unknown
}

/** The part of Emmett's event store API the benchmarks use, the same for SQLite and PostgreSQL. */
export interface EmmettStore {
  appendToStream(streamName: string, events: BenchEvent[], options?: { expectedStreamVersion?: bigint }): Promise<unknown>
  readStream(streamName: string, options?: { from?: bigint; maxCount?: bigint }): Promise<{ events: EmmettReadEvent[] }>
}

interface EmmettSqliteModule {
  getSQLiteEventStore(options: { fileName: string; connectionOptions?: { singleton: true; connection: EmmettConnection } }): EmmettStore
  sqliteConnection(options: { fileName: string }): EmmettConnection
  readMessagesBatch(
    db: EmmettConnection,
    options: { after: bigint; batchSize: number }
  ): Promise<{ currentGlobalPosition: bigint; messages: EmmettReadEvent[]; areEventsLeft: boolean }>
}

export interface EmmettPeer {
  module: EmmettSqliteModule
  version: string
  sqliteVersion: string
}

/** Installs tests/bench/peers when it is missing (npm ci --legacy-peer-deps) and loads Emmett-SQLite from it. */
export function loadEmmett(root: string): EmmettPeer | { error: string } {
  return loadPeer(root, {
    name: 'Emmett-SQLite',
    installNote: 'builds sqlite3 from source, about a minute',
    installed: (peers) =>
      existsSync(peerManifest(peers, '@event-driven-io/emmett-sqlite')) && existsSync(join(peers, 'node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node')),
    load: (peerRequire, peers) => ({
      module: peerRequire('@event-driven-io/emmett-sqlite') as EmmettSqliteModule,
      version: peerVersion(peers, '@event-driven-io/emmett-sqlite'),
      sqliteVersion: (peerRequire('sqlite3') as { VERSION: string }).VERSION
    })
  })
}

function isBusy(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null
  return (typeof e?.code === 'string' && e.code.startsWith('SQLITE_BUSY')) || (typeof e?.message === 'string' && e.message.includes('SQLITE_BUSY'))
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Counts what Emmett reports on the side; the system that is running at the time is charged. */
const current: { system: EmmettSystem | null } = { system: null }
let guards = 0
const originalLog = console.log

function quietLog(...args: unknown[]): void {
  // Emmett's withTransaction console.logs every error before rethrowing it; the BUSY ones are retried and counted.
  if (args.length === 1 && isBusy(args[0])) return
  originalLog(...args)
}

function onUncaught(error: unknown): void {
  // Per operation, each new connection runs `PRAGMA journal_mode = WAL` without a callback while the operation's
  // BEGIN IMMEDIATE may already run on it (node-sqlite3 runs statements in parallel): SQLite refuses the pragma
  // inside a transaction and node-sqlite3 emits the error on a statement nobody listens to, an uncaught
  // exception. The database is in WAL mode already, so it is harmless: count it, stop on anything else.
  const e = error as { code?: unknown; message?: unknown } | null
  if (e?.code === 'SQLITE_ERROR' && typeof e.message === 'string' && e.message.includes('cannot change into wal mode')) {
    if (current.system) current.system.walPragmaErrors++
    return
  }
  console.error(error)
  process.exit(1)
}

function installGuards(): void {
  if (guards++ > 0) return
  console.log = quietLog
  process.on('uncaughtException', onUncaught)
}

function removeGuards(): void {
  if (--guards > 0) return
  console.log = originalLog
  process.off('uncaughtException', onUncaught)
}

/**
 * Emmett-SQLite in one of its two ways of connecting:
 * - 'per-op': `getSQLiteEventStore({ fileName })`, its default: every operation opens a connection (journal WAL,
 *   synchronous left at SQLite's FULL) and closes it afterwards;
 * - 'shared': one connection passed through `connectionOptions` (its fast mode); the benchmark sets that
 *   connection to synchronous = NORMAL, the same durability as our store.
 */
export class EmmettSystem implements BenchSystem {
  readonly key: string
  readonly label: string
  walPragmaErrors = 0
  private readonly store: EmmettStore
  private readonly shared: EmmettConnection | null
  private busyRetries = 0
  private busyThenConflict = 0

  private constructor(
    private readonly emmett: EmmettSqliteModule,
    private readonly file: string,
    readonly mode: 'shared' | 'per-op'
  ) {
    this.key = mode === 'shared' ? 'emmett-shared' : 'emmett-per-op'
    this.label = mode === 'shared' ? 'Emmett-SQLite, one shared connection' : 'Emmett-SQLite, connection per operation'
    installGuards()
    this.shared = mode === 'shared' ? emmett.sqliteConnection({ fileName: file }) : null
    this.store = this.shared
      ? emmett.getSQLiteEventStore({ fileName: file, connectionOptions: { singleton: true, connection: this.shared } })
      : emmett.getSQLiteEventStore({ fileName: file })
  }

  static async open(emmett: EmmettSqliteModule, file: string, mode: 'shared' | 'per-op'): Promise<EmmettSystem> {
    const system = new EmmettSystem(emmett, file, mode)
    current.system = system
    if (system.shared) {
      await system.shared.query('PRAGMA synchronous = NORMAL')
      const [row] = await system.shared.query<{ synchronous: number }>('PRAGMA synchronous')
      if (row?.synchronous !== 1) throw new Error(`Emmett shared connection: synchronous is ${row?.synchronous}, wanted 1 (NORMAL)`)
    }
    // Creates the schema (Emmett does it on first use).
    await system.store.readStream('Warmup-0')
    return system
  }

  async append(streamId: string, events: BenchEvent[], expectedVersion: number): Promise<void> {
    current.system = this
    let busySeen = false
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.appendToStream(streamId, events, { expectedStreamVersion: BigInt(expectedVersion) })
        return
      } catch (error) {
        if (isBusy(error) && attempt < 1000) {
          this.busyRetries++
          busySeen = true
          if (attempt > 0) await pause(Math.min(attempt, 20))
          continue
        }
        if (busySeen && (error as object | null)?.constructor?.name.includes('ExpectedVersionConflict')) {
          // The BUSY was reported after the append had committed: it is stored, go on.
          this.busyThenConflict++
          return
        }
        throw error
      }
    }
  }

  async readStream(streamId: string): Promise<number> {
    current.system = this
    const result = await this.store.readStream(streamId)
    return result.events.length
  }

  readAll(): ReadAllCursor {
    let after: bigint | null = 0n
    return {
      step: async (fold) => {
        if (after === null) return false
        current.system = this
        const connection = this.shared ?? this.emmett.sqliteConnection({ fileName: this.file })
        let batch: Awaited<ReturnType<EmmettSqliteModule['readMessagesBatch']>>
        try {
          batch = await this.emmett.readMessagesBatch(connection, { after, batchSize: READ_ALL_PAGE })
        } finally {
          if (!this.shared) connection.close()
        }
        for (const m of batch.messages) fold.add(m.type, m.data)
        after = batch.areEventsLeft && batch.messages.length > 0 ? batch.currentGlobalPosition : null
        return after !== null
      }
    }
  }

  async bytesOnDisk(): Promise<number> {
    current.system = this
    await pause(200) // let connections closed by earlier operations finish closing
    const connection = this.shared ?? this.emmett.sqliteConnection({ fileName: this.file })
    await connection.query('PRAGMA wal_checkpoint(TRUNCATE)')
    const bytes = fileBytes(this.file)
    if (!this.shared) connection.close()
    return bytes
  }

  async close(): Promise<void> {
    this.shared?.close()
    await pause(300) // node-sqlite3 closes asynchronously and Emmett's close does not wait
    if (current.system === this) current.system = null
    removeGuards()
  }

  notes(): string[] {
    const notes = [`${this.label}: ${this.busyRetries} SQLITE_BUSY failures retried${this.busyThenConflict ? ` (${this.busyThenConflict} had committed anyway)` : ''}`]
    if (this.walPragmaErrors) {
      notes.push(`${this.label}: ${this.walPragmaErrors} uncaught "cannot change into wal mode from within a transaction" errors from its per-connection PRAGMA ignored`)
    }
    return notes
  }
}
