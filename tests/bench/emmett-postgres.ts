import { existsSync } from 'node:fs'
import type { EmmettReadEvent, EmmettStore } from './emmett'
import { loadPeer, peerManifest, peerVersion } from './peer-install'
import type { BenchSystem, ReadAllCursor } from './systems'
import { READ_ALL_PAGE, type BenchEvent, type Fold } from './workload'

/*
 * Emmett-PostgreSQL (@event-driven-io/emmett-postgresql) as a peer, next to Emmett-SQLite in tests/bench/peers
 * (see peer-install.ts: installed on demand, never imported statically). Its peers are pinned there too:
 * @event-driven-io/pongo, @event-driven-io/dumbo (its connection layer) and pg, the same pg version as ours.
 * The types below are the few parts of its API the benchmark uses.
 */

interface EmmettPgStore extends EmmettStore {
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
  return loadPeer(root, {
    name: 'Emmett-PostgreSQL',
    installNote: 'also builds sqlite3 for Emmett-SQLite, about a minute',
    installed: (peers) => PEER_PACKAGES.every((name) => existsSync(peerManifest(peers, name))),
    load: (peerRequire, peers) => ({
      module: peerRequire('@event-driven-io/emmett-postgresql') as EmmettPostgresModule,
      dumbo: peerRequire('@event-driven-io/dumbo') as DumboModule,
      version: peerVersion(peers, PEER_PACKAGES[0]),
      versions: PEER_PACKAGES.map((name) => `${name.replace('@event-driven-io/', '')} ${peerVersion(peers, name)}`).join(', ')
    })
  })
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
