import type { Disposer, Protocol } from './protocol'

/** Two connected in-memory protocols; messages are delivered asynchronously, as over a real wire. */
export function createMemoryPair(): [Protocol & { close(): void }, Protocol & { close(): void }] {
  const make = () => {
    const listeners = new Set<(m: string) => void>()
    const closeListeners = new Set<() => void>()
    return { listeners, closeListeners }
  }
  const a = make()
  const b = make()
  let closed = false
  const side = (self: ReturnType<typeof make>, other: ReturnType<typeof make>) => ({
    send(message: string) {
      if (closed) return
      queueMicrotask(() => {
        for (const l of [...other.listeners]) l(message)
      })
    },
    onMessage(listener: (m: string) => void): Disposer {
      self.listeners.add(listener)
      return () => self.listeners.delete(listener)
    },
    onClose(listener: () => void): Disposer {
      self.closeListeners.add(listener)
      return () => self.closeListeners.delete(listener)
    },
    close() {
      if (closed) return
      closed = true
      for (const l of [...a.closeListeners, ...b.closeListeners]) l()
    },
    listenerCount: () => self.listeners.size
  })
  return [side(a, b), side(b, a)]
}
