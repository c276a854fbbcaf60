/** Things due at simulated times, taken earliest first; equal times keep the order they were added in. */
export interface Agenda<T> {
  add(at: number, item: T): void
  /** The earliest entry, removed; null when nothing is left. */
  take(): { at: number; item: T } | null
  readonly size: number
}

export function createAgenda<T>(): Agenda<T> {
  // A binary min-heap on (at, seq).
  const heap: Array<{ at: number; seq: number; item: T }> = []
  let seq = 0
  const before = (a: number, b: number) => heap[a].at < heap[b].at || (heap[a].at === heap[b].at && heap[a].seq < heap[b].seq)
  const swap = (a: number, b: number) => ([heap[a], heap[b]] = [heap[b], heap[a]])
  return {
    add(at, item) {
      heap.push({ at, seq: seq++, item })
      for (let i = heap.length - 1; i > 0 && before(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1)
    },
    take() {
      if (heap.length === 0) return null
      const top = heap[0]
      const last = heap.pop()!
      if (heap.length > 0) {
        heap[0] = last
        for (let i = 0; ; ) {
          const l = 2 * i + 1
          const r = l + 1
          let m = i
          if (l < heap.length && before(l, m)) m = l
          if (r < heap.length && before(r, m)) m = r
          if (m === i) break
          swap(i, m)
          i = m
        }
      }
      return { at: top.at, item: top.item }
    },
    get size() {
      return heap.length
    }
  }
}
