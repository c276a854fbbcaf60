/**
 * A workspace whose log lives in PostgreSQL keeps a working copy of it in its events.db: the same events at the same
 * positions, versions, ids and recording times. The engine (replay, projections, upcasters, sagas, the stream browser)
 * reads the working copy as it reads any SQLite store; every write goes to PostgreSQL first, where optimistic
 * concurrency between everyone who shares the store is decided, and reaches the working copy from there.
 *
 * - Appends: the copy takes what it knows the server has, the append is made on the server (with the recording time
 *   chosen here), what others appended before it is copied, then the append itself is stored in the copy with the
 *   caller's hooks, so inline projections still commit their read-model writes with the events in one transaction.
 * - Others' appends arrive through the server's notifications (LISTEN/NOTIFY, with polling as the fallback) and are
 *   copied in order; the copy announces them as any append, so projections, sagas and live views follow.
 * - Stream metadata, deletes and scavenge are made on the server and then in the copy; metadata and deletes made by
 *   others are copied when the copy opens and at most every few seconds after an append arrives.
 */
import { RpcError } from '../../shared/rpc/errors'
import type { AppendResult, ExpectedVersion, NewEvent, StreamInfo, StreamMetadata } from '../../shared/model/events'
import { copyLog, postgresSide, sqliteSide, type LogSide, type StoredEvent } from './postgres-copy'
import { PostgresEventStore, inPgTransaction, type PostgresStoreOptions } from './postgres-store'
import { SqliteEventStore, type AppendHooks, type SqliteStoreOptions } from './sqlite-store'
import type { ProgressOptions, ScavengeReport } from './types'
import { uuidv7Bytes, bytesToUuid } from './uuid'

/** How the working copy stands against the server, for the Workspace panel. */
export interface ReplicationState {
  location: string
  schema: string
  serverHead: number
  localHead: number
  lastSyncAt: number | null
  error: string | null
}

export interface ReplicaOptions extends SqliteStoreOptions {
  /** How often the server's head is looked at besides its notifications (ms, default 1000). */
  checkEveryMs?: number
}

const PAGE = 2000

/**
 * Runs a write on the copy, waiting while another connection (a job thread: a rebuild, a scavenge) holds the
 * SQLite write lock; the app's connection has a short busy timeout so the main thread never blocks on it.
 */
async function whenNotBusy<T>(write: () => T): Promise<T> {
  for (;;) {
    try {
      return write()
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

/** Errors of a connection that could not be made or was lost (not of a statement the server refused). */
export function unreachable(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? ''
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006'].includes(code) || /Connection terminated/i.test((error as Error).message ?? '')
}
/** Metadata and deletes made by others are looked for at most this often (ms). */
const STREAM_SYNC_EVERY_MS = 5000

export class ReplicaEventStore extends SqliteEventStore {
  private readonly remoteSide: LogSide
  private lane: Promise<unknown> = Promise.resolve()
  private stopFollowing: (() => void) | null = null
  private serverHead = 0
  private lastSyncAt: number | null = null
  private lastStreamSync = 0
  private syncError: string | null = null
  private readonly stateListeners = new Set<(state: ReplicationState) => void>()
  private closingDone: Promise<void> | null = null
  /** The head check in flight, if any (close waits for it). */
  private checking: Promise<void> | null = null
  /** Stream rows the last row sync left for later (their events were not all copied yet). */
  private streamsBehind = false
  private readonly clock: () => number

  private constructor(
    file: string,
    readonly remote: PostgresEventStore,
    options: SqliteStoreOptions
  ) {
    super(file, options)
    this.clock = options.now ?? Date.now
    this.remoteSide = postgresSide(remote)
  }

  /** Closing or closed: nothing new is started. */
  private get closing(): boolean {
    return this.closingDone !== null
  }

  /** Opens the working copy at `file` and brings it up to the server's log (a whole copy when it is empty). */
  static async open(file: string, remote: PostgresStoreOptions, options: ReplicaOptions = {}): Promise<ReplicaEventStore> {
    const server = await PostgresEventStore.open(remote)
    let store: ReplicaEventStore
    try {
      store = new ReplicaEventStore(file, server, options)
    } catch (error) {
      await server.close()
      throw error
    }
    try {
      const localHead = store.head()
      if (localHead === 0) {
        await store.takeWholeCopy()
      } else {
        // The copy must be a copy of this server's log: its newest events are compared with the server's at the same
        // positions (a scavenge on the server may have removed some of them since: those are not compared, and
        // neither is a log the server has not).
        const mine = await sqliteSide(store).events(Math.max(0, localHead - 100), 100)
        const theirs = new Map((await store.remoteSide.events(Math.max(0, localHead - 100), 100)).map((e) => [e.position, e.id]))
        const serverHead = await store.remoteSide.head()
        const differs = mine.some((e) => theirs.has(e.position) && theirs.get(e.position) !== e.id)
        const noneShared = !mine.some((e) => theirs.has(e.position))
        if (serverHead < localHead || differs || (noneShared && theirs.size > 0)) {
          throw new RpcError(
            'Conflict',
            `The working copy in ${file} holds ${localHead} events that are not the log of ${server.location}. Move events.db away to take a fresh copy of the server's log.`
          )
        }
      }
      store.follow(options.checkEveryMs ?? 1000)
      await store.sync({ streams: true })
    } catch (error) {
      await store.close()
      throw error
    }
    return store
  }

  /**
   * An empty copy takes the server's whole log at once: every event as stored (those that metadata or a scavenge
   * hide or left gaps around included), every stream row and the head, read in one snapshot of the server (others
   * may append meanwhile) and written in one transaction, then verified.
   */
  private async takeWholeCopy(): Promise<void> {
    await inPgTransaction(
      this.remote.pool,
      async (client) => {
        const snapshot = postgresSide(this.remote, client)
        if ((await snapshot.head()) > 0) await copyLog(snapshot, sqliteSide(this))
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'
    )
  }

  /** Where the log lives, without the password. */
  get location(): string {
    return this.remote.location
  }

  /** Told when the copy's sync error appears or clears (appends are told through onAppended). */
  onReplication(listener: (state: ReplicationState) => void): () => void {
    this.stateListeners.add(listener)
    return () => this.stateListeners.delete(listener)
  }

  private setSyncError(error: string | null): void {
    if (error === this.syncError || this.closing) return
    this.syncError = error
    const state = this.replication()
    for (const listener of this.stateListeners) listener(state)
  }

  replication(): ReplicationState {
    return { location: this.remote.location, schema: this.remote.schema, serverHead: Math.max(this.serverHead, this.head()), localHead: this.head(), lastSyncAt: this.lastSyncAt, error: this.syncError }
  }

  /** One write or copy at a time: the copy's head is what the next one builds on. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(() => {
      if (this.closing) throw new RpcError('Internal', `The working copy of ${this.remote.location} is closed`)
      return fn()
    })
    this.lane = run.catch(() => {})
    return run
  }

  /**
   * Follows the server: its notifications for speed, and a look at its head every `checkEveryMs` for what no
   * notification announced (appends committed before listening began, a dropped listening connection) or a sync
   * that failed.
   */
  private follow(checkEveryMs: number): void {
    let timer: NodeJS.Timeout | null = null
    const syncSoon = () => {
      if (timer) return
      // Appends arriving together are copied together.
      timer = setTimeout(() => {
        timer = null
        if (!this.closing) void this.sync({ streams: Date.now() - this.lastStreamSync > STREAM_SYNC_EVERY_MS }).catch(() => {})
      }, 5)
    }
    const stop = this.remote.onAppended((notice) => {
      if (notice.lastPosition > this.serverHead) this.serverHead = notice.lastPosition
      if (notice.lastPosition > this.head()) syncSoon()
    })
    const check = setInterval(() => {
      if (this.checking || this.closing) return
      this.checking = this.remote
        .headPosition()
        .then((head) => {
          if (this.closing) return
          if (head > this.serverHead) this.serverHead = head
          if (head > this.head() || this.syncError) syncSoon()
        })
        .catch((error: unknown) => {
          if (this.closing) return
          if ((error as { code?: string }).code === '28P01') this.setSyncError(`${this.remote.location} refused the password (changed on the server?): open the workspace again to give the new one`)
          else this.setSyncError(`The server cannot be reached: ${(error as Error).message}`)
        })
        .finally(() => (this.checking = null))
    }, checkEveryMs)
    check.unref()
    this.stopFollowing = () => {
      stop()
      clearInterval(check)
      if (timer) clearTimeout(timer)
    }
  }

  /** A write (one at a time); a server that cannot be reached is an Unavailable error saying what is known of the outcome. */
  private write<T>(what: string, write: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      try {
        return await write()
      } catch (error) {
        if ((error as { code?: string }).code === '28P01') {
          throw new RpcError('CredentialsNeeded', `Could not ${what}: ${this.remote.location} refused the password (changed on the server?); open the workspace again to give the new one`, {
            location: this.remote.location
          })
        }
        if (unreachable(error)) {
          this.setSyncError(`The server cannot be reached: ${(error as Error).message}`)
          // Refused before connecting, nothing reached the server; a connection lost on the way leaves it unknown (a
          // repeat of the same append is recognised by its event ids once the server is back).
          const outcome = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH'].includes((error as { code?: string }).code ?? '')
            ? 'nothing was written'
            : 'whether it was written shows once the server is back'
          throw new RpcError('Unavailable', `Could not ${what}: the PostgreSQL store at ${this.remote.location} cannot be reached (${(error as Error).message}); ${outcome}`, {
            location: this.remote.location
          })
        }
        throw error
      }
    })
  }

  /** Copies what the server has and the working copy lacks; with `streams`, also others' metadata and deletes. */
  sync(options: { streams?: boolean } = {}): Promise<number> {
    return this.exclusive(async () => {
      try {
        const copied = await this.copyUpTo(Number.MAX_SAFE_INTEGER)
        if (options.streams || this.streamsBehind) await this.syncStreamRows()
        this.lastSyncAt = Date.now()
        this.setSyncError(null)
        return copied
      } catch (error) {
        this.setSyncError(unreachable(error) ? `The server cannot be reached: ${(error as Error).message}` : (error as Error).message)
        if (unreachable(error)) throw new RpcError('Unavailable', `The PostgreSQL store at ${this.remote.location} cannot be reached: ${(error as Error).message}`, { location: this.remote.location })
        throw error
      }
    })
  }

  /**
   * Copies the server's events after the copy's head, up to `last`, in order, each original append as one append.
   * With `hooksFor`, the events before `first` are copied plainly and the events from `first` to `last` (an append
   * this copy made on the server) as one run with the caller's hooks.
   */
  private async copyUpTo(last: number, hooksFor?: { first: number; hooks: AppendHooks }): Promise<number> {
    if (hooksFor) {
      let copied = await this.copyUpTo(hooksFor.first - 1)
      if (this.head() >= hooksFor.first) {
        throw new RpcError('Conflict', `The working copy took the events at ${hooksFor.first}…${last} without their append's hooks; the append is stored, and a retry is recognised as a repeat`)
      }
      const run = await this.remoteSide.events(hooksFor.first - 1, last - hooksFor.first + 1)
      if (run.length !== last - hooksFor.first + 1 || run[0].position !== hooksFor.first || run.some((e) => e.streamId !== run[0].streamId)) {
        throw new RpcError('Conflict', `The server does not hold the append at ${hooksFor.first}…${last} as one run of one stream; the working copy takes it on its next sync`)
      }
      await whenNotBusy(() => this.storeRun(run, hooksFor.hooks))
      copied += run.length
      if (last > this.serverHead) this.serverHead = last
      return copied
    }
    let copied = 0
    for (;;) {
      const head = this.head()
      if (head >= last) return copied
      // Positions may have gaps: a page asked for by distance can reach past `last`.
      const page = (await this.remoteSide.events(head, Math.min(PAGE, Math.max(1, last - head)))).filter((e) => e.position <= last)
      if (page.length === 0) return copied
      if (page[page.length - 1].position > this.serverHead) this.serverHead = page[page.length - 1].position
      let i = 0
      while (i < page.length) {
        // One run: consecutive events of one stream recorded at the same time (an append on the server).
        let j = i + 1
        while (j < page.length && page[j].streamId === page[i].streamId && page[j].recordedAt === page[i].recordedAt && page[j].position === page[j - 1].position + 1 && page[j].version === page[j - 1].version + 1) j++
        await whenNotBusy(() => this.storeRun(page.slice(i, j), undefined))
        copied += j - i
        i = j
      }
    }
  }

  /** Stores events exactly as the server has them: positions (after a gap where the server left one), versions, ids, times. */
  private storeRun(run: StoredEvent[], hooks: AppendHooks | undefined): void {
    const first = run[0]
    if (this.streamVersion(first.streamId) < first.version - 1) {
      throw new RpcError(
        'Conflict',
        `The working copy of ${this.remote.location} lacks versions ${this.streamVersion(first.streamId) + 1}–${first.version - 1} of ${first.streamId}: a scavenge on the server removed events the copy had not taken. Move events.db out of the workspace folder to take a fresh copy.`,
        { streamId: first.streamId }
      )
    }
    const events: NewEvent[] = run.map((e) => ({
      type: e.type,
      data: JSON.parse(e.data) as Record<string, unknown>,
      ...(e.metadata !== null ? { metadata: JSON.parse(e.metadata) as Record<string, unknown> } : {}),
      id: e.id,
      schemaVersion: e.schemaVersion
    }))
    const result = this.appendSync(first.streamId, events, first.version - 1, {
      recordedAt: first.recordedAt,
      firstPosition: first.position,
      ...(hooks?.inTransaction ? { inTransaction: hooks.inTransaction } : {})
    })
    if (result.duplicate || result.firstPosition !== first.position) {
      throw new RpcError('Conflict', `The working copy of ${this.remote.location} diverged from the server at position ${first.position} (stream ${first.streamId}). Move events.db out of the workspace folder to take a fresh copy.`)
    }
  }

  /**
   * Others' stream metadata, soft deletes and tombstones, as the server has them. A stream whose events the copy
   * does not all have yet keeps its row until they are copied (a tombstone before its last events would refuse them).
   */
  private async syncStreamRows(only?: string): Promise<void> {
    if (only === undefined) this.lastStreamSync = Date.now()
    const server = await this.remoteSide.streams(only)
    await whenNotBusy(() => this.settleStreams())
    const local = new Map(
      (
        this.db.prepare('SELECT stream_id, version, state, deleted_before, metadata, restricted FROM streams').all() as Array<{
          stream_id: string
          version: number
          state: number
          deleted_before: number
          metadata: string
          restricted: number
        }>
      ).map((r) => [r.stream_id, r])
    )
    const update = this.db.prepare('UPDATE streams SET state = ?, deleted_before = ?, metadata = ?, restricted = ? WHERE stream_id = ?')
    const create = this.db.prepare(
      'INSERT INTO streams (stream_id, category, version, event_count, first_position, last_position, created_at, updated_at, state, deleted_before, metadata, restricted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    )
    let behind = false
    await whenNotBusy(() => this.writeTransaction(() => {
      for (const s of server) {
        const mine = local.get(s.streamId)
        const metadata = JSON.stringify(JSON.parse(s.metadata))
        if ((s.lastPosition ?? 0) > this.head()) {
          behind = true
          continue
        }
        if (!mine) {
          // A stream with metadata or a tombstone and no events yet.
          create.run(s.streamId, s.category, 0, 0, null, null, s.createdAt, s.updatedAt, s.state, s.deletedBefore, metadata, s.restricted ? 1 : 0)
          continue
        }
        if (mine.state !== s.state || mine.deleted_before !== s.deletedBefore || JSON.stringify(JSON.parse(mine.metadata)) !== metadata || mine.restricted !== (s.restricted ? 1 : 0)) {
          update.run(s.state, s.deletedBefore, metadata, s.restricted ? 1 : 0, s.streamId)
        }
      }
    }))
    // Rows left for later: the next sync looks again.
    if (behind) this.streamsBehind = true
    else if (only === undefined) this.streamsBehind = false
  }

  // ---------------------------------------------------------------- writes go to the server first

  override async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion?: ExpectedVersion } & AppendHooks = {}): Promise<AppendResult> {
    // Ids fixed here, so the server and the copy store the same ones.
    const withIds = events.map((e) => (e.id ? e : { ...e, id: bytesToUuid(uuidv7Bytes()) }))
    return this.write(`append to ${streamId}`, async () => {
      // What others appended and the copy has heard of is copied first (so an inline projection's prediction holds);
      // what it has not heard of yet is copied after the append, before it.
      if (this.serverHead > this.head()) await this.copyUpTo(Number.MAX_SAFE_INTEGER)
      const recordedAt = options.recordedAt ?? this.clock()
      let result: AppendResult
      try {
        result = await this.remote.appendToStream(streamId, withIds, { expectedVersion: options.expectedVersion, recordedAt })
      } catch (error) {
        // Refused for a version the copy had not seen yet: the copy takes it, so a retry starts from it.
        if ((error as RpcError).code === 'WrongExpectedVersion') await this.copyUpTo(Number.MAX_SAFE_INTEGER)
        throw error
      }
      if (result.lastPosition! > this.serverHead) this.serverHead = result.lastPosition!
      if (result.duplicate) {
        await this.copyUpTo(Number.MAX_SAFE_INTEGER)
        return result
      }
      const hooks: AppendHooks = { recordedAt, ...(options.inTransaction ? { inTransaction: options.inTransaction } : {}) }
      try {
        await this.copyUpTo(result.lastPosition!, { first: result.firstPosition!, hooks })
      } catch (error) {
        // A hook that refuses (an inline projection whose prediction others' appends made stale): the events are on
        // the server all the same, so the copy takes them without it, and the caller learns why its hook did not run.
        if (this.head() < result.lastPosition! && !(error instanceof RpcError && error.code === 'Conflict' && /working copy/.test(error.message))) {
          await this.copyUpTo(result.lastPosition!)
        }
        throw error
      }
      this.lastSyncAt = Date.now()
      this.setSyncError(null)
      return result
    })
  }

  /** Sets the metadata on the server; the copy takes the server's row (with what others appended first). */
  override async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<StreamInfo> {
    return this.write(`set the metadata of ${streamId}`, async () => {
      await this.remote.setStreamMetadata(streamId, metadata)
      return this.takeStreamRow(streamId)
    })
  }

  /** Deletes on the server (its expected version checked there); the copy takes the server's row. */
  override async deleteStream(streamId: string, options: { expectedVersion?: ExpectedVersion; mode?: 'soft' | 'tombstone' } = {}): Promise<StreamInfo> {
    return this.write(`delete ${streamId}`, async () => {
      await this.remote.deleteStream(streamId, options)
      return this.takeStreamRow(streamId)
    })
  }

  private async takeStreamRow(streamId: string): Promise<StreamInfo> {
    // Someone may append between the copy and the row read: then the row waits, and the copy goes round again.
    for (let round = 0; round < 3; round++) {
      await this.copyUpTo(Number.MAX_SAFE_INTEGER)
      await this.syncStreamRows(streamId)
      if (!this.streamsBehind) break
    }
    const info = await super.streamInfo(streamId)
    if (!info) throw new RpcError('Conflict', `The working copy has no row for ${streamId} yet; it takes it on its next sync`, { streamId })
    return info
  }

  /** Scavenges the server, then the copy (the same metadata hides the same events in both). */
  override async scavenge(options: ProgressOptions = {}): Promise<ScavengeReport> {
    return this.write('scavenge', async () => {
      await this.copyUpTo(Number.MAX_SAFE_INTEGER)
      await this.syncStreamRows()
      const report = await this.remote.scavenge(options)
      super.scavengeSync()
      return report
    })
  }

  /** Waits for the write or copy in progress and the head check in flight; what is asked after this is refused. */
  override close(): Promise<void> {
    this.closingDone ??= (async () => {
      this.stopFollowing?.()
      await this.lane.catch(() => {})
      await this.checking
      await super.close()
      await this.remote.close()
    })()
    return this.closingDone
  }
}
