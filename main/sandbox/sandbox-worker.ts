import { parentPort, workerData } from 'node:worker_threads'
import { SandboxContext } from './context'

// A sandbox worker thread: one vm context with the workspace's definition files. Every message is text in, text out.
type Message = { id: number; type: 'load'; file: string; source: string } | { id: number; type: 'call'; request: string }

const { prelude, watch } = workerData as { prelude: string; watch: SharedArrayBuffer }
const sandbox = new SandboxContext(prelude, new Float64Array(watch))

parentPort?.on('message', (message: Message) => {
  if (message.type === 'load') parentPort?.postMessage({ id: message.id, ...sandbox.load(message.file, message.source) })
  else parentPort?.postMessage({ id: message.id, ...sandbox.call(message.request) })
})
parentPort?.postMessage({ id: 0, ready: true })
