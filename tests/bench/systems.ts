import { randomFillSync } from 'node:crypto'
import { statSync } from 'node:fs'
import Database from 'better-sqlite3'
import { SqliteEventStore } from '../../main/store/sqlite-store'
import type { EventStore } from '../../main/store/types'
import { READ_ALL_PAGE, type BenchEvent, type Fold } from './workload'

/** What the driver asks of every system under test. */
export interface BenchSystem {
  readonly key: string
  readonly label: string
  append(streamId: string, events: BenchEvent[], expectedVersion: number): Promise<void>
  /** Reads a whole stream (100 events) and returns how many events came back. */
  readStream(streamId: string): Promise<number>
  /** A cursor over every event in global order: each step reads one page (JSON-parsed) into the fold; false at the end. */
  readAll(): ReadAllCursor
  /** Checkpoints the WAL (TRUNCATE) and returns the database file plus WAL size. */
  bytesOnDisk(): Promise<number>
  close(): Promise<void>
  /** Anything worth saying under the table (retries, settings). */
  notes(): string[]
}

export interface ReadAllCursor {
  step(fold: Fold): Promise<boolean>
  /**
   * Present on a cursor that can skip pages: set to k > 1, it reads only every k-th page from then on (an evenly
   * spread sample, for a read-all that would take too long otherwise).
   */
  stride?: number
}

export function fileBytes(file: string): number {
  let total = 0
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(file + suffix).size
    } catch {
      // no WAL after a TRUNCATE checkpoint on some platforms
    }
  }
  return total
}

/** One of our stores through the store interface: appendToStream, readStream, readAll in pages. */
export abstract class StoreSystem implements BenchSystem {
  abstract readonly key: string
  abstract readonly label: string

  protected constructor(readonly store: EventStore) {}

  async append(streamId: string, events: BenchEvent[], expectedVersion: number): Promise<void> {
    await this.store.appendToStream(streamId, events, { expectedVersion })
  }

  async readStream(streamId: string): Promise<number> {
    const page = await this.store.readStream(streamId)
    return page.events.length
  }

  readAll(): ReadAllCursor {
    let from: number | null = 1
    return {
      step: async (fold) => {
        if (from === null) return false
        const page = await this.store.readAll({ from, limit: READ_ALL_PAGE })
        for (const e of page.events) fold.add(e.type, e.data)
        from = page.next
        return from !== null
      }
    }
  }

  abstract bytesOnDisk(): Promise<number>

  async close(): Promise<void> {
    await this.store.close()
  }

  notes(): string[] {
    return []
  }
}

/** Our SQLite store, through its public async API only (plus its db handle for the checkpoint). */
export class OursSystem extends StoreSystem {
  readonly key = 'ours'
  readonly label = 'Event Workbench (SqliteEventStore)'
  declare readonly store: SqliteEventStore

  constructor(private readonly file: string) {
    super(new SqliteEventStore(file))
  }

  async bytesOnDisk(): Promise<number> {
    this.store.db.pragma('wal_checkpoint(TRUNCATE)')
    return fileBytes(this.file)
  }
}

const idPool = Buffer.alloc(16 * 1024)
let idPoolOffset = idPool.length

/** A time-ordered 16-byte id, like the store's (UUID v7 layout). */
function newId(now: number): Buffer {
  if (idPoolOffset + 10 > idPool.length) {
    randomFillSync(idPool)
    idPoolOffset = 0
  }
  const id = Buffer.allocUnsafe(16)
  id.writeUIntBE(now, 0, 6)
  idPool.copy(id, 6, idPoolOffset, idPoolOffset + 10)
  idPoolOffset += 10
  id[6] = 0x70 | (id[6] & 0x0f)
  id[8] = 0x80 | (id[8] & 0x3f)
  return id
}

interface RawRow {
  position: number
  stream_id: string
  version: number
  type: string
  id: Buffer
  data: string
  metadata: string | null
  recorded_at: number
}

/**
 * The floor: one better-sqlite3 table with the same information and pragmas as our store, an append that checks
 * the version with SELECT max(version) in an IMMEDIATE transaction, reads that JSON.parse the data.
 */
export class RawSystem implements BenchSystem {
  readonly key = 'raw'
  readonly label = 'raw better-sqlite3 table'
  private readonly db: Database.Database
  private readonly appendTx: (streamId: string, events: BenchEvent[], expectedVersion: number) => void
  private readonly streamRows: Database.Statement<[string, number], RawRow>
  private readonly allRows: Database.Statement<[number, number], RawRow>

  constructor(private readonly file: string) {
    const db = new Database(file, { timeout: 60_000 })
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('cache_size = -65536')
    db.exec(`CREATE TABLE IF NOT EXISTS events (
      position INTEGER PRIMARY KEY,
      stream_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      type TEXT NOT NULL,
      id BLOB NOT NULL,
      data TEXT NOT NULL,
      metadata TEXT,
      recorded_at INTEGER NOT NULL,
      UNIQUE (stream_id, version)
    )`)
    this.db = db
    const maxVersion = db.prepare<[string], number | null>('SELECT max(version) FROM events WHERE stream_id = ?').pluck()
    const insert = db.prepare('INSERT INTO events (stream_id, version, type, id, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    const tx = db.transaction((streamId: string, events: BenchEvent[], expectedVersion: number) => {
      const actual = maxVersion.get(streamId) ?? 0
      if (actual !== expectedVersion) throw new Error(`Wrong expected version for ${streamId}: expected ${expectedVersion}, actual ${actual}`)
      const now = Date.now()
      for (let i = 0; i < events.length; i++) {
        const e = events[i]
        insert.run(streamId, actual + i + 1, e.type, newId(now), JSON.stringify(e.data), null, now)
      }
    })
    this.appendTx = (streamId, events, expectedVersion) => tx.immediate(streamId, events, expectedVersion)
    this.streamRows = db.prepare('SELECT position, stream_id, version, type, id, data, metadata, recorded_at FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT 100')
    this.allRows = db.prepare('SELECT position, stream_id, version, type, id, data, metadata, recorded_at FROM events WHERE position >= ? ORDER BY position LIMIT ?')
  }

  async append(streamId: string, events: BenchEvent[], expectedVersion: number): Promise<void> {
    this.appendTx(streamId, events, expectedVersion)
  }

  async readStream(streamId: string): Promise<number> {
    const rows = this.streamRows.all(streamId, 1)
    const events = rows.map((r) => ({ ...r, data: JSON.parse(r.data) as unknown, metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as unknown) }))
    return events.length
  }

  readAll(): ReadAllCursor {
    let from: number | null = 1
    return {
      step: async (fold) => {
        if (from === null) return false
        const rows = await this.page(from)
        for (const r of rows) {
          const data = JSON.parse(r.data) as unknown
          if (r.metadata !== null) JSON.parse(r.metadata)
          fold.add(r.type, data)
        }
        from = rows.length < READ_ALL_PAGE ? null : rows[rows.length - 1].position + 1
        return from !== null
      }
    }
  }

  /** A page of $all, async like every read the other systems offer. */
  private async page(from: number): Promise<RawRow[]> {
    return this.allRows.all(from, READ_ALL_PAGE)
  }

  async bytesOnDisk(): Promise<number> {
    this.db.pragma('wal_checkpoint(TRUNCATE)')
    return fileBytes(this.file)
  }

  async close(): Promise<void> {
    this.db.close()
  }

  notes(): string[] {
    return []
  }
}
