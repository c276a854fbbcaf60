import type { z } from 'zod'
import type { Contract, EventSource } from './contract'
import type { Disposer } from './protocol'

type Listener = (payload: unknown) => void

/** A typed publish/subscribe hub for a contract's events; services emit, the RPC server forwards. */
export class EventHub<C extends Contract> implements EventSource<C> {
  private readonly listeners = new Map<string, Set<Listener>>()

  on<S extends keyof C & string, E extends keyof C[S]['events'] & string>(
    service: S,
    event: E,
    listener: (payload: z.input<C[S]['events'][E]['payload']>) => void
  ): Disposer {
    const key = `${service}.${event}`
    let set = this.listeners.get(key)
    if (!set) {
      set = new Set()
      this.listeners.set(key, set)
    }
    const entry = listener as Listener
    set.add(entry)
    return () => {
      set.delete(entry)
      if (set.size === 0) this.listeners.delete(key)
    }
  }

  emit<S extends keyof C & string, E extends keyof C[S]['events'] & string>(
    service: S,
    event: E,
    payload: z.input<C[S]['events'][E]['payload']>
  ): void {
    const set = this.listeners.get(`${service}.${event}`)
    if (!set) return
    for (const listener of [...set]) {
      try {
        listener(payload)
      } catch {
        // A faulty listener must not stop delivery to the others.
      }
    }
  }

  /** Total number of live listeners (tests use it to prove that nothing leaks). */
  listenerCount(): number {
    let n = 0
    for (const set of this.listeners.values()) n += set.size
    return n
  }
}
