import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import type { StoreStats } from '../../../shared/contract'
import type { StreamInfo } from '../../../shared/model/events'
import type { Disposer } from '../../../shared/rpc/protocol'
import { useConnectionStore } from './connection'
import { describeError } from './errors'

export const STREAM_LIST_PAGE = 200
const FILTER_DELAY_MS = 250
const LIVE_DELAY_MS = 200

export interface StreamFilters {
  nameContains: string
  category: string
  eventType: string
}

/** The stream list: filters, keyset paging, counts, and live updates from `store.appended`. */
export const useStreamsStore = defineStore('streams', () => {
  const connection = useConnectionStore()
  const filters = reactive<StreamFilters>({ nameContains: '', category: '', eventType: '' })
  const streams = ref<StreamInfo[]>([])
  const total = ref(0)
  const next = ref<string | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  const stats = ref<StoreStats | null>(null)
  /** Counts the times a new query replaced the list (views scroll back to the top). */
  const listed = ref(0)
  // Answers to a superseded query (the filters changed meanwhile) are dropped.
  let generation = 0
  let filterTimer: ReturnType<typeof setTimeout> | undefined
  let liveTimer: ReturnType<typeof setTimeout> | undefined
  const touched = new Map<string, string[]>()
  let stopLive: Disposer | null = null

  function query(after?: string) {
    return {
      nameContains: filters.nameContains.trim() || undefined,
      category: filters.category || undefined,
      eventType: filters.eventType || undefined,
      after,
      limit: STREAM_LIST_PAGE
    }
  }

  async function refresh(): Promise<void> {
    clearTimeout(filterTimer)
    const mine = ++generation
    loading.value = true
    error.value = null
    try {
      const page = await connection.rpc().store.listStreams(query())
      if (mine !== generation) return
      streams.value = page.streams
      total.value = page.total
      next.value = page.next
      listed.value++
    } catch (e) {
      if (mine === generation) error.value = `Could not list streams: ${describeError(e)}`
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  async function loadMore(): Promise<void> {
    if (next.value === null || loading.value) return
    const mine = generation
    loading.value = true
    try {
      const page = await connection.rpc().store.listStreams(query(next.value))
      if (mine !== generation) return
      const known = new Set(streams.value.map((s) => s.streamId))
      streams.value = [...streams.value, ...page.streams.filter((s) => !known.has(s.streamId))]
      total.value = page.total
      next.value = page.next
    } catch (e) {
      if (mine === generation) error.value = `Could not load more streams: ${describeError(e)}`
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  /** Changes filters and lists again after a short pause (typing in the name box). */
  function updateFilters(patch: Partial<StreamFilters>): void {
    Object.assign(filters, patch)
    clearTimeout(filterTimer)
    filterTimer = setTimeout(() => void refresh(), FILTER_DELAY_MS)
  }

  async function loadStats(): Promise<void> {
    try {
      stats.value = await connection.rpc().store.stats()
    } catch {
      // The filter choices fall back to none; the list shows the real error.
    }
  }

  function matches(info: StreamInfo, types: string[]): boolean {
    if (filters.nameContains.trim() && !info.streamId.includes(filters.nameContains.trim())) return false
    if (filters.category && info.category !== filters.category) return false
    if (filters.eventType && !types.includes(filters.eventType)) return false
    return true
  }

  /** Moves a stream that just had an append to the top (the list is newest activity first). */
  async function applyAppends(): Promise<void> {
    const batch = [...touched.entries()]
    touched.clear()
    const mine = generation
    for (const [streamId, types] of batch) {
      let info: StreamInfo
      try {
        info = await connection.rpc().store.streamInfo({ streamId })
      } catch {
        continue
      }
      if (mine !== generation) return
      const index = streams.value.findIndex((s) => s.streamId === streamId)
      const rest = streams.value.filter((s) => s.streamId !== streamId)
      if (index >= 0) streams.value = [info, ...rest]
      else if (matches(info, types)) {
        streams.value = [info, ...rest]
        total.value += 1
      }
    }
  }

  /** Lists streams and follows appends until close(). */
  function open(): void {
    close()
    try {
      stopLive = connection.rpc().store.on('appended', (notice) => {
        touched.set(notice.streamId, [...(touched.get(notice.streamId) ?? []), ...notice.types])
        clearTimeout(liveTimer)
        liveTimer = setTimeout(() => void applyAppends(), LIVE_DELAY_MS)
      })
    } catch (e) {
      error.value = describeError(e)
    }
    void refresh()
    void loadStats()
  }

  function close(): void {
    stopLive?.()
    stopLive = null
    clearTimeout(liveTimer)
    clearTimeout(filterTimer)
    touched.clear()
  }

  return { filters, streams, total, next, loading, error, stats, listed, refresh, loadMore, updateFilters, loadStats, applyAppends, open, close }
})
