import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { RecordedEvent } from '../../../shared/model/events'
import { useConnectionStore } from './connection'
import { describeError, errorCode } from './errors'

export const CORRELATED_PAGE = 100

function metadataString(event: RecordedEvent | null, key: string): string | null {
  const value = event?.metadata?.[key]
  return typeof value === 'string' && value !== '' ? value : null
}

export const correlationIdOf = (event: RecordedEvent | null) => metadataString(event, 'correlationId')
export const causationIdOf = (event: RecordedEvent | null) => metadataString(event, 'causationId')

export interface CorrelatedEvents {
  correlationId: string
  events: RecordedEvent[]
  /** True when there are more than one page holds. */
  more: boolean
}

/** The event on display, the causes followed to reach it, and the events that share its correlation id. */
export const useEventDetailStore = defineStore('event-detail', () => {
  const connection = useConnectionStore()
  const event = ref<RecordedEvent | null>(null)
  /** The events we came from by following causation links, most recent last. */
  const trail = ref<RecordedEvent[]>([])
  const correlated = ref<CorrelatedEvents | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)

  function show(next: RecordedEvent): void {
    event.value = next
    trail.value = []
    error.value = null
    if (correlated.value && correlated.value.correlationId !== correlationIdOf(next)) correlated.value = null
  }

  /** Opens the event that caused the one on display (metadata.causationId is the cause's id). */
  async function openCause(): Promise<void> {
    const current = event.value
    const id = causationIdOf(current)
    if (!current || !id) return
    loading.value = true
    error.value = null
    try {
      const cause = await connection.rpc().store.readEvent({ id })
      trail.value = [...trail.value, current]
      event.value = cause
    } catch (e) {
      error.value = errorCode(e) === 'NotFound' ? `The causing event ${id} is not in the store.` : `Could not open the causing event ${id}: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  function back(): void {
    const previous = trail.value[trail.value.length - 1]
    if (!previous) return
    trail.value = trail.value.slice(0, -1)
    event.value = previous
    error.value = null
  }

  /** Lists the events that carry the same metadata.correlationId as the one on display. */
  async function listCorrelated(): Promise<void> {
    const correlationId = correlationIdOf(event.value)
    if (!correlationId) return
    loading.value = true
    error.value = null
    try {
      const page = await connection.rpc().store.readAll({ filter: { correlationId }, limit: CORRELATED_PAGE })
      correlated.value = { correlationId, events: page.events, more: page.next !== null }
    } catch (e) {
      error.value = `Could not list the events of correlation ${correlationId}: ${describeError(e)}`
    } finally {
      loading.value = false
    }
  }

  /** Shows one of the correlated events, keeping the list. */
  function showCorrelated(next: RecordedEvent): void {
    const current = event.value
    if (current && current.position !== next.position) trail.value = [...trail.value, current]
    event.value = next
    error.value = null
  }

  function clear(): void {
    event.value = null
    trail.value = []
    correlated.value = null
    error.value = null
  }

  return { event, trail, correlated, loading, error, show, openCause, back, listCorrelated, showCorrelated, clear }
})
