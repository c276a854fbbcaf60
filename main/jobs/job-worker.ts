import { parentPort, workerData } from 'node:worker_threads'
import { RpcError } from '../../shared/rpc/errors'
import { runTask, type JobTask } from './tasks'

// A job worker thread: runs one task with its own database connection, reports progress, honours cancel.
interface Input {
  task: JobTask
  cancel: SharedArrayBuffer
  watch: SharedArrayBuffer
}

const { task, cancel, watch } = workerData as Input
const cancelFlag = new Int32Array(cancel)
let lastReport = 0

runTask(task, {
  watch: new Float64Array(watch),
  // Between batches a job asks whether it is cancelled: a paused job waits there until resumed or cancelled.
  isCancelled: () => {
    while (Atomics.load(cancelFlag, 1) === 1 && Atomics.load(cancelFlag, 0) !== 1) Atomics.wait(cancelFlag, 1, 1, 500)
    return Atomics.load(cancelFlag, 0) === 1
  },
  onProgress: (done, total) => {
    const now = Date.now()
    if (now - lastReport < 100 && done !== total) return
    lastReport = now
    parentPort?.postMessage({ t: 'progress', done, total })
  }
})
  .then((result) => parentPort?.postMessage({ t: 'result', result }))
  .catch((error: unknown) => {
    const shape =
      error instanceof RpcError
        ? error.toJSON()
        : { code: 'Internal', message: error instanceof Error ? error.message : String(error) }
    parentPort?.postMessage({ t: 'error', error: shape })
  })
