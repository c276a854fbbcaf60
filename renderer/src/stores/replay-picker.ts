import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { StreamInfo } from '../../../shared/model/events'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

export const PICKER_LIMIT = 50
const SEARCH_DELAY_MS = 200

/** Finding a stream to replay: by a part of its name and its category, newest activity first. */
export const useReplayPickerStore = defineStore('replay-picker', () => {
  const connection = useConnectionStore()
  const text = ref('')
  const category = ref('')
  const categories = ref<string[]>([])
  const results = ref<StreamInfo[]>([])
  const total = ref(0)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let request = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  async function search(): Promise<void> {
    clearTimeout(timer)
    const mine = ++request
    loading.value = true
    error.value = null
    try {
      const page = await connection.rpc().store.listStreams({ nameContains: text.value.trim() || undefined, category: category.value || undefined, limit: PICKER_LIMIT })
      if (mine !== request) return
      results.value = page.streams
      total.value = page.total
    } catch (e) {
      if (mine === request) error.value = `Could not list streams: ${describeError(e)}`
    } finally {
      if (mine === request) loading.value = false
    }
  }

  /** Changes the query and searches after a short pause (typing). */
  function update(patch: { text?: string; category?: string }): void {
    if (patch.text !== undefined) text.value = patch.text
    if (patch.category !== undefined) category.value = patch.category
    // The results on screen are of the old query until the new one answers.
    loading.value = true
    clearTimeout(timer)
    timer = setTimeout(() => void search(), SEARCH_DELAY_MS)
  }

  async function loadCategories(): Promise<void> {
    try {
      const stats = await connection.rpc().store.stats()
      categories.value = stats.categories.map((c) => c.category)
    } catch {
      // The category choice falls back to "any"; the search shows the real error.
    }
  }

  return { text, category, categories, results, total, loading, error, search, update, loadCategories }
})
