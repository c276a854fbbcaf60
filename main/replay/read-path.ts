import type { RecordedEvent } from '../../shared/model/events'
import type { SqliteEventStore } from '../store/sqlite-store'

/**
 * The one way replay reads a stream. Upcasting (event versioning) hooks in here, so every reader of events for
 * folding gets them the same way.
 */
export function readStreamEvents(store: SqliteEventStore, streamId: string, fromVersion = 1, toVersion = Number.MAX_SAFE_INTEGER): RecordedEvent[] {
  const out: RecordedEvent[] = []
  let from: number | null = fromVersion
  while (from !== null && from <= toVersion) {
    const page = store.readStreamSync(streamId, { from, limit: 1000 })
    for (const e of page.events) {
      if (e.version > toVersion) return out
      out.push(e)
    }
    from = page.next
  }
  return out
}

/** The same events as one JSON array text, for handing many of them to user code at once (parsed inside). */
export function readStreamEventsJson(store: SqliteEventStore, streamId: string, fromVersion = 1, toVersion = Number.MAX_SAFE_INTEGER): { json: string; count: number } {
  return store.readStreamJson(streamId, fromVersion, toVersion)
}
