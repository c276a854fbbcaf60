import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { CausationGraph } from '../../../shared/contract'
import { causationPicture } from '../saga-graph'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

/** The most events one picture draws. */
export const CHOREOGRAPHY_LIMIT = 300

/** Streams by category, for the picture's legend: the categories in the order their first event came. */
export function categoriesOf(graph: CausationGraph | null): string[] {
  const seen: string[] = []
  for (const n of [...(graph?.nodes ?? [])].sort((a, b) => a.event.position - b.event.position)) {
    const category = n.event.streamId.split('-')[0]
    if (!seen.includes(category)) seen.push(category)
  }
  return seen
}

/**
 * Choreography: follows one correlation id across streams and draws which events caused which (the saga stream's
 * decisions, the commands they sent, the events those produced), whether or not a saga was written with defineSaga.
 */
export const useChoreographyStore = defineStore('choreography', () => {
  const connection = useConnectionStore()
  const correlationId = ref('')
  const graph = shallowRef<CausationGraph | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  const selectedEvent = ref<string | null>(null)
  let request = 0

  const picture = computed(() => (graph.value ? causationPicture(graph.value) : null))
  const categories = computed(() => categoriesOf(graph.value))
  const selected = computed(() => graph.value?.nodes.find((n) => n.id === selectedEvent.value)?.event ?? null)

  async function follow(id = correlationId.value): Promise<boolean> {
    const wanted = id.trim()
    correlationId.value = wanted
    if (!wanted) {
      error.value = 'Enter a correlation id, or pick one of an instance'
      return false
    }
    const mine = ++request
    loading.value = true
    error.value = null
    try {
      const next = await connection.rpc().sagas.choreography({ correlationId: wanted, limit: CHOREOGRAPHY_LIMIT })
      if (mine !== request) return false
      graph.value = next
      selectedEvent.value = null
      if (!next.nodes.length) error.value = `No event carries the correlation id ${wanted}`
      return true
    } catch (e) {
      if (mine === request) error.value = `Could not follow ${wanted}: ${describeError(e)}`
      return false
    } finally {
      if (mine === request) loading.value = false
    }
  }

  function selectEvent(id: string | null): void {
    selectedEvent.value = id
  }

  return { correlationId, graph, picture, categories, loading, error, selectedEvent, selected, follow, selectEvent }
})
