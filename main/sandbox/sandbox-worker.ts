import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { SandboxContext } from './context'
import { HEADER_BYTES, LENGTH, POSTED, READY, REPLY, WATCHING, Watching } from './handoff'

// A sandbox worker thread: one vm context with the workspace's definition files. Every message is text in, text
// out, answered in the order it came: a call is its request text, a load is {file, source}.
type Message = string | { file: string; source: string }

const { prelude, watch, handoff, watchMs } = workerData as { prelude: string; watch: SharedArrayBuffer; handoff: SharedArrayBuffer; watchMs: number }
const sandbox = new SandboxContext(prelude, new Float64Array(watch))
const slots = new Int32Array(handoff, 0, HEADER_BYTES / 4)
const text = new Uint8Array(handoff, HEADER_BYTES)
const encoder = new TextEncoder()
const watching = new Watching(watchMs)
let handled = 0

/** The answer through shared memory when the app watches for it there (and it fits), otherwise as a message. */
function reply(answer: string) {
  if (Atomics.load(slots, REPLY) === WATCHING && answer.length * 3 <= text.length) {
    slots[LENGTH] = encoder.encodeInto(answer, text).written
    if (Atomics.compareExchange(slots, REPLY, WATCHING, READY) === WATCHING) return
  }
  parentPort!.postMessage(answer)
}

function handle(message: Message) {
  handled = (handled + 1) | 0 // counts as the shared Int32 slot does
  reply(typeof message === 'string' ? sandbox.answer(message) : JSON.stringify(sandbox.load(message.file, message.source)))
}

parentPort!.on('message', (message: Message) => {
  handle(message)
  // Watch a moment for the next request before going back to sleep, and take it from the port at once.
  while (watching.take()) {
    const deadline = performance.now() + watching.ms
    let next: { message: unknown } | undefined
    while (!next && performance.now() < deadline) {
      if (Atomics.load(slots, POSTED) !== handled) next = receiveMessageOnPort(parentPort!)
    }
    if (!next) {
      // Nothing came (a message still on its way arrives the usual way).
      watching.missed()
      return
    }
    watching.paid()
    handle(next.message as Message)
  }
})
parentPort!.postMessage({ ready: true })
