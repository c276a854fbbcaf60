import { Worker } from 'node:worker_threads'
import { RpcError, type ErrorCode } from '../../shared/rpc/errors'
import type { JobTask } from './tasks'
import { workerScript } from './worker-path'

export interface RunningJob {
  result: Promise<unknown>
  cancel(): void
  /** Holds the job at its next check between batches until resumed (jobs that poll for cancel also pause there). */
  pause?(paused: boolean): void
}

/** Runs a task in a worker thread, off the main thread, with progress and cancel. */
export function runInWorker(task: JobTask, onProgress: (done: number, total: number | null) => void, userCodeTimeoutMs = 10_000): RunningJob {
  // Slot 0: cancel; slot 1: paused.
  const cancel = new SharedArrayBuffer(8)
  const flag = new Int32Array(cancel)
  // Slot 0: when the job's current call into user code started; a call that runs too long stops the job.
  const watch = new Float64Array(new SharedArrayBuffer(8))
  const worker = new Worker(workerScript('job-worker', 'main/jobs/job-worker.ts'), {
    workerData: { task, cancel, watch: watch.buffer },
    resourceLimits: { maxOldGenerationSizeMb: 2048 }
  })
  const result = new Promise<unknown>((resolve, reject) => {
    let settled = false
    const watchdog = setInterval(() => {
      const started = watch[0]
      if (settled || started === 0 || Date.now() - started <= userCodeTimeoutMs) return
      settled = true
      reject(new RpcError('Timeout', `User code ran longer than ${userCodeTimeoutMs} ms inside the job and was stopped`, { limitMs: userCodeTimeoutMs }))
      void worker.terminate()
    }, 100)
    watchdog.unref()
    worker.once('exit', () => clearInterval(watchdog))
    worker.on('message', (m: { t: string; done?: number; total?: number | null; result?: unknown; error?: { code: ErrorCode; message: string; details?: unknown } }) => {
      if (m.t === 'progress') onProgress(m.done ?? 0, m.total ?? null)
      else if (m.t === 'result') {
        settled = true
        resolve(m.result)
      } else if (m.t === 'error' && m.error) {
        settled = true
        reject(new RpcError(m.error.code, m.error.message, m.error.details))
      }
    })
    worker.on('error', (error) => {
      if (!settled) reject(new RpcError('Internal', `The job worker failed: ${error.message}`))
      settled = true
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new RpcError('Internal', `The job worker exited with code ${code} before finishing`))
    })
  }).finally(() => void worker.terminate())
  return {
    result,
    cancel: () => {
      Atomics.store(flag, 0, 1)
      Atomics.notify(flag, 1)
    },
    pause: (paused) => {
      Atomics.store(flag, 1, paused ? 1 : 0)
      Atomics.notify(flag, 1)
    }
  }
}
