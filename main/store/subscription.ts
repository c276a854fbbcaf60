import type { RecordedEvent } from '../../shared/model/events'
import type { AllPage, ReadAllOptions, SubscribeOptions, Subscription } from './types'

interface SubscriptionSource {
  readAll(options: ReadAllOptions): Promise<AllPage>
  /** Calls back when new events may exist; returns an unsubscribe function. */
  onWake(listener: () => void): () => void
}

/**
 * Catch-up then live: reads pages after the last delivered position until it finds nothing, then waits for
 * a wake-up (an append here, or another process's append seen by the watcher) and reads again. Because it
 * always reads "after the last position delivered", nothing is skipped and nothing is delivered twice.
 */
export function startSubscription(
  source: SubscriptionSource,
  options: SubscribeOptions,
  handler: (event: RecordedEvent) => void | Promise<void>
): Subscription {
  let position = options.after ?? 0
  let closed = false
  let wake: (() => void) | null = null
  let pendingWake = false
  let markCaughtUp!: () => void
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve))
  const stopWake = source.onWake(() => {
    pendingWake = true
    wake?.()
  })

  const loop = async () => {
    try {
      while (!closed) {
        pendingWake = false
        const page = await source.readAll({ filter: { ...options.filter }, from: position + 1, direction: 'forwards', limit: options.batchSize ?? 500 })
        for (const event of page.events) {
          if (closed) return
          await handler(event)
          position = event.position
        }
        if (page.next !== null) {
          // A filtered page may end before the head: skip past what was scanned.
          if (page.events.length === 0) position = page.next - 1
          continue
        }
        position = Math.max(position, page.headPosition)
        markCaughtUp()
        if (closed) return
        if (!pendingWake) await new Promise<void>((resolve) => (wake = resolve))
        wake = null
      }
    } finally {
      stopWake()
      markCaughtUp()
    }
  }
  const done = loop()
  done.catch(() => {})

  return {
    caughtUp,
    done,
    position: () => position,
    close: () => {
      closed = true
      wake?.()
    }
  }
}
