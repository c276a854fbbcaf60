import { EventEmitter } from 'node:events'

/**
 * The clock sagas' deadlines and retries follow: the machine's time plus an offset the user (or a test) can move
 * on, or a manual time that only moves when told to. Moving it wakes the coordinator at once.
 */
export class SagaClock {
  private offset = 0
  private readonly emitter = new EventEmitter()

  constructor(private readonly base: () => number = Date.now) {}

  /** A clock that stands still at `start` until advanced (tests, demo generation). */
  static manual(start: number): SagaClock {
    let t = start
    const clock = new SagaClock(() => t)
    clock.set = (ms: number) => {
      t = ms - clock.offset
      clock.emitter.emit('moved')
    }
    return clock
  }

  /** Only on a manual clock: moves it to a time. */
  set: ((ms: number) => void) | null = null

  now(): number {
    return this.base() + this.offset
  }

  offsetMs(): number {
    return this.offset
  }

  advance(ms: number): number {
    this.offset += ms
    this.emitter.emit('moved')
    return this.now()
  }

  onMoved(listener: () => void): () => void {
    this.emitter.on('moved', listener)
    return () => this.emitter.off('moved', listener)
  }
}
