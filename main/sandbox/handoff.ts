/**
 * A faster way across between the app and its sandbox worker while commands come one after another. A thread that
 * sleeps until a message wakes it costs a wake-up per message (tens of microseconds on a virtual machine, where the
 * idle processor the thread sleeps on has to be woken first); so for a moment after handing work over, the waiting
 * side watches shared memory instead: the app for the answer to its one call in flight, the worker for the next
 * request. Every request still travels as a message and every answer can; the shared memory carries only an answer's
 * JSON text, in the order the worker answers. When watching does not pay (the other thread got no processor in
 * time), the side backs off and sleeps at once for a while.
 *
 * Layout: Int32 slots, then the text bytes.
 */
export const REPLY = 0
export const LENGTH = 1
/** Messages the app has posted; the worker compares it with the number it has handled. */
export const POSTED = 2
export const HEADER_BYTES = 16
/** Answers up to this size may come through shared memory; larger ones come as messages. */
export const TEXT_BYTES = 256 * 1024

/** REPLY states: nobody watches; the app watches for the answer to its one call; it stopped watching; the answer is in. */
export const IDLE = 0
export const WATCHING = 1
export const ABANDONED = 2
export const READY = 3

/** How long each side watches before sleeping. */
export const APP_WATCH_MS = 0.15
export const WORKER_WATCH_MS = 0.25

/**
 * When to watch: after a watch that saw nothing, the next ones are skipped (1, 2, 4 … up to 1024 of them, halving
 * again with each watch that pays), so a machine whose processors are all busy soon costs almost nothing.
 */
export class Watching {
  private skip = 0
  private backoff = 1

  constructor(readonly ms: number) {}

  /** Whether to watch this time. */
  take(): boolean {
    if (this.skip > 0) {
      this.skip--
      return false
    }
    return true
  }

  paid(): void {
    this.backoff = Math.max(1, this.backoff >> 1)
  }

  missed(): void {
    this.skip = this.backoff
    this.backoff = Math.min(this.backoff * 2, 1024)
  }
}
