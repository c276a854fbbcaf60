import { RpcError } from '../../shared/rpc/errors'
import type { SqliteEventStore, EventRow } from '../store/sqlite-store'
import { bytesToUuid, uuidFromName, uuidToBytes } from '../store/uuid'
import { SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'
import type { WorkProgress } from '../store/ndjson'

/** The upcaster files of a workspace, loaded into a context of this (job) thread. */
export function upcasterContext(prelude: string, files: Array<readonly [string, string]>, watch?: Float64Array): SandboxContext {
  const context = new SandboxContext(prelude, watch)
  for (const [file, source] of files) {
    if (!file.startsWith('upcasters/')) continue
    const loaded = context.load(file, source)
    if (!loaded.ok) throw userCodeError(loaded.failure, `loading ${file}`)
  }
  return context
}

/** Calls the context's dispatcher; a failure becomes the same error the app reports for user code. */
export function callContext<T>(context: SandboxContext, request: string, where: string): T {
  const answer = context.call(request)
  if (!answer.ok) throw userCodeError(answer.failure, where)
  return JSON.parse(answer.result) as T
}

/** A stored row as the JSON of an event object (data and metadata as stored, no re-serialising). */
export function rowEventJson(r: EventRow): string {
  return `{"position":${r.position},"streamId":${JSON.stringify(r.stream_id)},"version":${r.version},"type":${JSON.stringify(r.type)},"schemaVersion":${r.schema_version},"id":"${bytesToUuid(r.id)}","data":${r.data},"metadata":${r.metadata ?? 'null'},"recordedAt":${r.recorded_at}}`
}

interface ReadEvent {
  position: number
  streamId: string
  version: number
  type: string
  schemaVersion: number
  id: string
  data: Record<string, unknown>
  metadata: Record<string, unknown> | null
  recordedAt: number
  upcastedFrom?: { type: string; schemaVersion: number }
  splitIndex?: number
}

/**
 * The log as read, as stored rows again: each stored event through the upcasters; a split's extra events get
 * ids derived from the stored one, and the stream's later versions and the log's later positions move up by one
 * per extra event (without splits, positions and versions are the stored ones). What export with upcasting writes
 * and what a migration stores.
 */
export class AsReadLog {
  private readonly offsets = new Map<string, number>()
  /** Events added by splits so far: later positions move up by as many. */
  private added = 0
  /** Events as read that would not survive storage as JSON (a migration refuses to switch to such a store). */
  readonly unstable: Array<{ position: number; streamId: string; type: string; reason: string }> = []

  constructor(
    private readonly context: SandboxContext,
    private readonly options: { checkStable?: boolean } = {}
  ) {}

  /** Rows as read for a batch of stored rows (in position order). */
  read(rows: EventRow[]): Array<EventRow & { from: { type: string; schemaVersion: number } | null }> {
    if (rows.length === 0) return []
    const request = `{"op":"upcast.apply","stable":${this.options.checkStable === true},"events":[${rows.map(rowEventJson).join(',')}]}`
    const answer = callContext<ReadEvent[] | { events: ReadEvent[]; unstable: AsReadLog['unstable'] }>(this.context, request, 'upcasting')
    const events = Array.isArray(answer) ? answer : answer.events
    if (!Array.isArray(answer)) for (const u of answer.unstable) if (this.unstable.length < 50) this.unstable.push(u)
    const out: Array<EventRow & { from: { type: string; schemaVersion: number } | null }> = []
    for (const e of events) {
      const offset = this.offsets.get(e.streamId) ?? 0
      const part = e.splitIndex ?? 0
      if (part > 0) {
        this.offsets.set(e.streamId, offset + 1)
        this.added++
      }
      out.push({
        position: e.position + this.added,
        stream_id: e.streamId,
        version: e.version + (this.offsets.get(e.streamId) ?? 0),
        type: e.type,
        schema_version: e.schemaVersion,
        id: part > 0 ? uuidToBytes(uuidFromName(`${e.id}#split-${part}`)) : uuidToBytes(e.id),
        data: JSON.stringify(e.data),
        metadata: e.metadata === null ? null : JSON.stringify(e.metadata),
        recorded_at: e.recordedAt,
        from: e.upcastedFrom ?? null
      })
    }
    return out
  }

  /** How many events each stream gained through splits so far. */
  gained(): Map<string, number> {
    return this.offsets
  }
}

/** Reads the whole log (or from a position) as read, a page at a time. */
export function* readLogAsRead(store: SqliteEventStore, log: AsReadLog, progress: WorkProgress = {}, from = 1): Generator<EventRow[]> {
  const head = store.head()
  let next: number | null = from
  while (next !== null && next <= head) {
    if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'Cancelled')
    const page = store.readAllRawSync({ from: next, limit: 2000, filter: { toPosition: head } })
    yield log.read(page.rows)
    next = page.next
    progress.onProgress?.(next === null ? head : next - 1, head)
  }
}
