import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { RecordedEvent } from '../../../shared/model/events'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

export const STREAM_EVENTS_PAGE = 50

export type StreamState = 'live' | 'deleted' | 'tombstoned' | 'missing'

/** The events as stored, or as every reader gets them: through the upcasters. */
export type StreamView = 'stored' | 'read'

/** Events in reading order; the parts of a split stored event stay in their order. */
export function inStreamOrder(events: RecordedEvent[], newestFirst: boolean): RecordedEvent[] {
  const order = newestFirst ? -1 : 1
  return [...events].sort((a, b) => order * (a.version - b.version) || (a.splitIndex ?? 0) - (b.splitIndex ?? 0))
}

/** One stream's events, a page at a time, oldest or newest first; the page reloads when the stream grows. */
export const useStreamEventsStore = defineStore('stream-events', () => {
  const connection = useConnectionStore()
  const streamId = ref<string | null>(null)
  const newestFirst = ref(true)
  const view = ref<StreamView>('stored')
  const events = ref<RecordedEvent[]>([])
  const version = ref(0)
  const state = ref<StreamState>('live')
  /** Where the current page starts (undefined: the start in the reading direction). */
  const from = ref<number | undefined>(undefined)
  const next = ref<number | null>(null)
  /** Starts of the pages before this one, so "previous" can go back. */
  const previous = ref<(number | undefined)[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  let request = 0
  let stopLive: Disposer | null = null

  async function load(): Promise<void> {
    const id = streamId.value
    if (id === null) return
    const mine = ++request
    loading.value = true
    error.value = null
    let upcasting = false
    try {
      const page = await connection.rpc().store.readStream({
        streamId: id,
        from: from.value,
        direction: newestFirst.value ? 'backwards' : 'forwards',
        limit: STREAM_EVENTS_PAGE
      })
      if (mine !== request) return
      let shown = page.events
      if (view.value === 'read' && shown.length > 0) {
        // The same page, read through the upcasters: from its lowest stored version to its highest.
        const versions = shown.map((e) => e.version)
        const low = Math.min(...versions)
        upcasting = true
        const asRead = await connection.rpc().upcasters.readStream({ streamId: id, from: low, limit: Math.max(...versions) - low + 1 })
        if (mine !== request) return
        shown = asRead.events
      }
      events.value = inStreamOrder(shown, newestFirst.value)
      version.value = page.version
      state.value = page.state
      next.value = page.next
    } catch (e) {
      if (mine !== request) return
      // The engine's message may say already what was being read.
      const message = describeError(e).replace(`reading ${id} through the upcasters: `, '')
      error.value = upcasting ? `Could not read stream "${id}" through the upcasters: ${message}` : `Could not read stream "${id}": ${message}`
      // A page that cannot be read as every reader reads it is not shown as stored instead.
      if (upcasting) events.value = []
    } finally {
      if (mine === request) loading.value = false
    }
  }

  async function openStream(id: string): Promise<void> {
    streamId.value = id
    events.value = []
    restart()
    await load()
  }

  function restart(): void {
    from.value = undefined
    previous.value = []
    next.value = null
  }

  /** Shows the page on screen as stored or as read, staying on it. */
  async function setView(value: StreamView): Promise<void> {
    if (view.value === value) return
    view.value = value
    await load()
  }

  async function setNewestFirst(value: boolean): Promise<void> {
    newestFirst.value = value
    restart()
    await load()
  }

  async function nextPage(): Promise<void> {
    if (next.value === null) return
    previous.value = [...previous.value, from.value]
    from.value = next.value
    await load()
  }

  async function previousPage(): Promise<void> {
    if (previous.value.length === 0) return
    from.value = previous.value[previous.value.length - 1]
    previous.value = previous.value.slice(0, -1)
    await load()
  }

  /** Shows the page that starts at the event at a global position (a link to an old event of a long stream). */
  async function pageAt(position: number): Promise<RecordedEvent | null> {
    const id = streamId.value
    if (id === null) return null
    try {
      const event = await connection.rpc().store.readEvent({ position })
      if (event.streamId !== id || streamId.value !== id) return null
      // "Previous" goes back to the first page in the reading direction.
      previous.value = [undefined]
      from.value = event.version
      await load()
      return event
    } catch (e) {
      error.value = `Could not find event ${position} in "${id}": ${describeError(e)}`
      return null
    }
  }

  function closeStream(): void {
    streamId.value = null
    events.value = []
    restart()
  }

  /** Reloads the page on screen when its stream gets new events. */
  function open(): void {
    close()
    try {
      stopLive = connection.rpc().store.on('appended', (notice) => {
        if (notice.streamId === streamId.value) void load()
      })
    } catch (e) {
      error.value = describeError(e)
    }
    if (streamId.value !== null) void load()
  }

  function close(): void {
    stopLive?.()
    stopLive = null
  }

  return { streamId, newestFirst, view, events, version, state, from, next, previous, loading, error, load, openStream, pageAt, setView, setNewestFirst, nextPage, previousPage, closeStream, open, close }
})
