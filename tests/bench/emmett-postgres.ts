import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { BenchSystem, ReadAllCursor } from './systems'
import { READ_ALL_PAGE, type BenchEvent, type Fold } from './workload'

/*
 * Emmett-PostgreSQL (@event-driven-io/emmett-postgresql) as a peer, next to Emmett-SQLite in tests/bench/peers
 * (its own package.json and lock, installed on demand with --legacy-peer-deps). Its peers are pinned there too:
 * @event-driven-io/pongo, @event-driven-io/dumbo (its connection layer) and pg, the same pg version as ours.
 * Nothing here imports it statically; the types below are the few parts of its API the benchmark uses.
 */

interface EmmettReadEvent {
  type: string
  data: unknown
}

interface EmmettPgStore {
  appendToStream(streamName: string, events: BenchEvent[], options?: { expectedStreamVersion?: bigint }): Promise<unknown>
  readStream(streamName: string, options?: { from?: bigint; maxCount?: bigint }): Promise<{ events: EmmettReadEvent[] }>
  close(): Promise<void>
}

/** dumbo's SQL executor: what Emmett's own consumers hand to readMessagesBatch. */
type SqlExecutor = unknown

interface DumboPool {
  execute: SqlExecutor
  close(): Promise<void>
}

interface EmmettPostgresModule {
  getPostgreSQLEventStore(connectionString: string): EmmettPgStore
  readMessagesBatch(
    execute: SqlExecutor,
    options: { after: bigint; batchSize: number }
  ): Promise<{ currentGlobalPosition: bigint; messages: EmmettReadEvent[]; areMessagesLeft: boolean }>
}

interface DumboModule {
  dumbo(options: { connectionString: string }): DumboPool
}

export interface EmmettPostgresPeer {
  module: EmmettPostgresModule
  dumbo: DumboModule
  version: string
  versions: string
}

const PEER_PACKAGES = ['@event-driven-io/emmett-postgresql', '@event-driven-io/dumbo', '@event-driven-io/pongo', 'pg']

/** Installs tests/bench/peers when Emmett-PostgreSQL is missing from it (npm ci --legacy-peer-deps) and loads it. */
export function loadEmmettPostgres(root: string): EmmettPostgresPeer | { error: string } {
  const peers = join(root, 'tests', 'bench', 'peers')
  const manifest = (name: string) => join(peers, 'node_modules', ...name.split('/'), 'package.json')
  const installed = () => PEER_PACKAGES.every((name) => existsSync(manifest(name)))
  if (!installed()) {
    console.log('Emmett-PostgreSQL is not installed: running `npm ci --legacy-peer-deps --prefix tests/bench/peers` (also builds sqlite3 for Emmett-SQLite, about a minute)...')
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const result = spawnSync(npm, ['ci', '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefix', peers], { cwd: root, stdio: 'inherit' })
    if (result.status !== 0 || !installed()) return { error: `npm ci in tests/bench/peers failed (exit ${result.status ?? result.signal})` }
  }
  const peerRequire = createRequire(join(peers, 'package.json'))
  try {
    const module = peerRequire('@event-driven-io/emmett-postgresql') as EmmettPostgresModule
    const dumbo = peerRequire('@event-driven-io/dumbo') as DumboModule
    const version = (name: string) => (JSON.parse(readFileSync(manifest(name), 'utf8')) as { version: string }).version
    const versions = PEER_PACKAGES.map((name) => `${name.replace('@event-driven-io/', '')} ${version(name)}`).join(', ')
    return { module, dumbo, version: version(PEER_PACKAGES[0]), versions }
  } catch (error) {
    return { error: `loading Emmett-PostgreSQL failed: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/**
 * Emmett's log read page after page with `readMessagesBatch({ after, batchSize })`. `stride` > 1 reads every
 * stride-th page only (a sample spread over the log, for a phase that would take too long otherwise).
 */
export class EmmettReadAllCursor implements ReadAllCursor {
  stride = 1
  private after: bigint | null = 0n

  constructor(
    private readonly emmett: EmmettPostgresModule,
    private readonly reader: DumboPool
  ) {}

  async step(fold: Fold): Promise<boolean> {
    if (this.after === null) return false
    const batch = await this.emmett.readMessagesBatch(this.reader.execute, { after: this.after, batchSize: READ_ALL_PAGE })
    for (const m of batch.messages) fold.add(m.type, m.data)
    this.after = batch.areMessagesLeft && batch.messages.length > 0 ? batch.currentGlobalPosition + BigInt((this.stride - 1) * READ_ALL_PAGE) : null
    return this.after !== null
  }
}

/**
 * Emmett-PostgreSQL through its public API, in a database of its own: `getPostgreSQLEventStore(connectionString)`
 * (its default, a pooled connection), `appendToStream` with the exact expected version, `readStream`, and for the
 * whole log `readMessagesBatch` on a dumbo pool, in pages, as its own consumers read it.
 */
export class EmmettPostgresSystem implements BenchSystem {
  readonly key = 'emmett'
  readonly label: string
  private readonly store: EmmettPgStore
  private reader: DumboPool | null = null

  private constructor(
    private readonly peer: EmmettPostgresPeer,
    private readonly connectionString: string
  ) {
    this.label = `Emmett-PostgreSQL ${peer.version}`
    this.store = peer.module.getPostgreSQLEventStore(connectionString)
  }

  static async open(peer: EmmettPostgresPeer, connectionString: string): Promise<EmmettPostgresSystem> {
    const system = new EmmettPostgresSystem(peer, connectionString)
    // Creates the schema (Emmett migrates on first use).
    await system.store.readStream('Warmup-0')
    return system
  }

  async append(streamId: string, events: BenchEvent[], expectedVersion: number): Promise<void> {
    await this.store.appendToStream(streamId, events, { expectedStreamVersion: BigInt(expectedVersion) })
  }

  async readStream(streamId: string): Promise<number> {
    const result = await this.store.readStream(streamId)
    return result.events.length
  }

  /** Pages of READ_ALL_PAGE in global order (its cursor can be told to read only every n-th page). */
  readAll(): EmmettReadAllCursor {
    this.reader ??= this.peer.dumbo.dumbo({ connectionString: this.connectionString })
    return new EmmettReadAllCursor(this.peer.module, this.reader)
  }

  /** Not used: the benchmark measures table sizes through its own connection (see postgres.bench.ts). */
  async bytesOnDisk(): Promise<number> {
    return 0
  }

  async close(): Promise<void> {
    await this.reader?.close()
    await this.store.close()
  }

  notes(): string[] {
    return []
  }
}
