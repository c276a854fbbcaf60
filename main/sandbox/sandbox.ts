import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { RpcError } from '../../shared/rpc/errors'
import { workerScript } from '../jobs/worker-path'
import type { CallOutcome, UserCodeFailure } from './context'
import { sandboxPrelude } from './prelude'

export interface SandboxOptions {
  /** Longest a single call into user code may run. */
  timeoutMs?: number
  /** Heap limit of the worker that runs user code. */
  memoryMb?: number
}

export interface LoadReport {
  file: string
  ok: boolean
  failure?: UserCodeFailure
}

interface Pending {
  resolve(value: unknown): void
  reject(error: unknown): void
  timer: NodeJS.Timeout | null
}

/** Turns a failure inside user code into the workbench's error, with the place in the user's TypeScript. */
export function userCodeError(failure: UserCodeFailure, where: string): RpcError {
  const at = failure.location ? ` (${failure.location.file}:${failure.location.line}:${failure.location.column})` : ''
  const code = failure.kind === 'timeout' ? 'Timeout' : 'UserCodeFailed'
  return new RpcError(code, `${where}: ${failure.name === 'Error' ? '' : `${failure.name}: `}${failure.message}${at}`, {
    file: failure.location?.file ?? null,
    line: failure.location?.line ?? null,
    column: failure.location?.column ?? null,
    name: failure.name,
    logs: failure.logs
  })
}

/**
 * Runs user code in a vm context inside a worker thread. A call that runs too long is stopped by the vm's
 * timeout; a worker that does not answer, or dies (out of memory), is replaced and the files reloaded, and the
 * calls it held fail with a clear error. The app is never affected.
 */
export class Sandbox {
  readonly timeoutMs: number
  readonly memoryMb: number
  private worker: Worker | null = null
  private ready: Promise<void> | null = null
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private files = new Map<string, string>()
  private loadReports: LoadReport[] = []
  private closed = false
  /** How many times a worker was replaced (tests read it). */
  restarts = 0

  constructor(options: SandboxOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000
    this.memoryMb = options.memoryMb ?? 256
  }

  /** Replaces the loaded definition files; returns what each load did. */
  async setFiles(files: Map<string, string>): Promise<LoadReport[]> {
    this.files = new Map(files)
    await this.restart()
    return this.loadReports
  }

  reports(): LoadReport[] {
    return this.loadReports
  }

  private spawn(): Promise<void> {
    const worker = new Worker(workerScript('sandbox-worker', join(__dirname, 'sandbox-worker.ts')), {
      workerData: { prelude: sandboxPrelude(), timeoutMs: this.timeoutMs },
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      stdout: true,
      stderr: true
    })
    this.worker = worker
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { id: number; ready?: boolean }) => {
        if (m.id === 0 && m.ready) {
          worker.off('message', onMessage)
          resolve()
        }
      }
      worker.on('message', onMessage)
      worker.once('error', reject)
    })
    worker.on('message', (m: { id: number } & Record<string, unknown>) => {
      if (m.id === 0) return
      const p = this.pending.get(m.id)
      if (!p) return
      this.pending.delete(m.id)
      if (p.timer) clearTimeout(p.timer)
      p.resolve(m)
    })
    worker.on('error', (error: Error & { code?: string }) => this.onWorkerDeath(worker, error))
    worker.on('exit', (code) => this.onWorkerDeath(worker, new Error(`the sandbox worker exited with code ${code}`)))
    return ready
  }

  private onWorkerDeath(worker: Worker, error: Error & { code?: string }) {
    if (worker !== this.worker) return
    this.worker = null
    this.ready = null
    const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY'
    const failure = outOfMemory
      ? new RpcError('UserCodeFailed', `User code used more than ${this.memoryMb} MB of memory and was stopped`, { reason: 'memory', limitMb: this.memoryMb })
      : new RpcError('UserCodeFailed', `The sandbox stopped: ${error.message}`, { reason: 'crash' })
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer)
      p.reject(failure)
      this.pending.delete(id)
    }
    if (!this.closed) {
      this.restarts++
      this.ready = this.bootAndLoad()
      this.ready.catch(() => {})
    }
  }

  private async bootAndLoad(): Promise<void> {
    await this.spawn()
    const reports: LoadReport[] = []
    for (const [file, source] of this.files) {
      const answer = (await this.post({ type: 'load', file, source }, false)) as { ok: boolean; failure?: UserCodeFailure }
      reports.push({ file, ok: answer.ok, failure: answer.failure })
    }
    this.loadReports = reports
  }

  private async restart(): Promise<void> {
    const old = this.worker
    this.worker = null
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer)
      p.reject(new RpcError('UserCodeFailed', 'The sandbox was restarted before this call ran; try again'))
      this.pending.delete(id)
    }
    if (old) {
      this.restarts++
      await old.terminate()
    }
    this.ready = this.bootAndLoad()
    await this.ready
  }

  private post(message: Record<string, unknown>, watchdog = true): Promise<unknown> {
    const worker = this.worker
    if (!worker) return Promise.reject(new RpcError('UserCodeFailed', 'The sandbox is not running'))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      // A worker stuck outside the vm's timeout is terminated (its death handler rejects this call).
      const timer = watchdog
        ? setTimeout(() => {
            const p = this.pending.get(id)
            if (!p) return
            this.pending.delete(id)
            p.reject(new RpcError('Timeout', `User code did not answer within ${this.timeoutMs} ms; the sandbox was restarted`))
            void worker.terminate()
          }, this.timeoutMs + 3000)
        : null
      this.pending.set(id, { resolve, reject, timer })
      worker.postMessage({ id, ...message })
    })
  }

  /** Sends a request to the dispatcher in the context and returns its parsed result, or throws UserCodeFailed/Timeout. */
  async call<T = unknown>(request: Record<string, unknown>, where: string): Promise<{ result: T; logs: string[] }> {
    if (this.closed) throw new RpcError('UserCodeFailed', 'The sandbox is closed')
    if (!this.ready) this.ready = this.bootAndLoad()
    await this.ready
    const answer = (await this.post({ type: 'call', request: JSON.stringify(request) })) as CallOutcome
    if (!answer.ok) {
      if (answer.failure.kind === 'timeout') {
        // The context survived the timeout, but its state is unknown: start clean.
        void this.restart().catch(() => {})
      }
      throw userCodeError(answer.failure, where)
    }
    return { result: JSON.parse(answer.result) as T, logs: answer.logs }
  }

  async close(): Promise<void> {
    this.closed = true
    const worker = this.worker
    this.worker = null
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer)
      p.reject(new RpcError('UserCodeFailed', 'The sandbox was closed'))
    }
    this.pending.clear()
    if (worker) await worker.terminate()
  }
}
