import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { RecordedEvent } from '../../../shared/model/events'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

export const TAIL_PAGE = 100
/** The tail keeps at most this many events; older ones are dropped as new ones arrive. */
export const TAIL_MAX = 1000

/** Newest first, one event per position. */
function mergeNewestFirst(a: RecordedEvent[], b: RecordedEvent[]): RecordedEvent[] {
  const byPosition = new Map<number, RecordedEvent>()
  for (const e of [...a, ...b]) byPosition.set(e.position, e)
  return [...byPosition.values()].sort((x, y) => y.position - x.position)
}

/** `$all` with a live tail: the newest page, then every append as it happens, plus older pages on request. */
export const useAllEventsStore = defineStore('all-events', () => {
  const connection = useConnectionStore()
  const events = ref<RecordedEvent[]>([])
  /** Highest position shown. */
  const head = ref(0)
  /** Where the next older page starts, or null when the oldest event is shown. */
  const older = ref<number | null>(null)
  const live = ref(false)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let stopLive: Disposer | null = null
  let announced = 0
  let catchingUp: Promise<void> | null = null
  // Appends announced before the first page arrives are caught up after it.
  let ready = false

  async function loadNewest(): Promise<void> {
    const page = await connection.rpc().store.readAll({ direction: 'backwards', limit: TAIL_PAGE })
    events.value = mergeNewestFirst([], page.events)
    older.value = page.next
    head.value = Math.max(page.headPosition, events.value[0]?.position ?? 0)
  }

  /** Fetches what was appended after the head; jumps to the newest page when too much arrived at once. */
  async function catchUp(): Promise<void> {
    while (ready && announced > head.value) {
      const before = head.value
      if (announced - head.value > TAIL_PAGE) {
        await loadNewest()
      } else {
        const page = await connection.rpc().store.readAll({ from: head.value + 1, direction: 'forwards', limit: TAIL_PAGE })
        const merged = mergeNewestFirst(page.events, events.value)
        if (merged.length > TAIL_MAX) older.value = merged[TAIL_MAX].position
        events.value = merged.slice(0, TAIL_MAX)
        // The head is how far $all has been read, even where the events read were hidden.
        head.value = Math.max(head.value, page.next === null ? page.headPosition : page.next - 1, events.value[0]?.position ?? 0)
      }
      if (head.value === before) {
        // The server announced more than it lets us read; stop here rather than spin.
        announced = head.value
        break
      }
    }
    error.value = null
  }

  function onAppended(lastPosition: number): void {
    announced = Math.max(announced, lastPosition)
    if (catchingUp || !ready) return
    catchingUp = catchUp()
      .catch((e) => {
        error.value = `Live tail stopped following: ${describeError(e)}`
        announced = head.value
      })
      .finally(() => {
        catchingUp = null
        if (announced > head.value) onAppended(announced)
      })
  }

  /** Shows the newest page and follows appends until close(). */
  async function open(): Promise<void> {
    close()
    error.value = null
    loading.value = true
    try {
      stopLive = connection.rpc().store.on('appended', (notice) => onAppended(notice.lastPosition))
      live.value = true
      await loadNewest()
      ready = true
      if (announced > head.value) onAppended(announced)
    } catch (e) {
      error.value = `Could not read $all: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  async function loadOlder(): Promise<void> {
    if (older.value === null || loading.value) return
    loading.value = true
    try {
      const page = await connection.rpc().store.readAll({ from: older.value, direction: 'backwards', limit: TAIL_PAGE })
      events.value = mergeNewestFirst(events.value, page.events)
      older.value = page.next
    } catch (e) {
      error.value = `Could not read older events: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  function close(): void {
    stopLive?.()
    stopLive = null
    live.value = false
    ready = false
  }

  return { events, head, older, live, loading, error, open, close, loadOlder }
})
