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
  private booting = false
  /** Slot 0: when the running call into user code started (0 = none); written by the worker. */
  private watch = new Float64Array(new SharedArrayBuffer(8))
  private watchdog: NodeJS.Timeout | null = null
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

  /** Checks, while calls are pending, that none has run longer than the limit; a runaway worker is terminated. */
  private startWatchdog() {
    if (this.watchdog) return
    this.watchdog = setInterval(() => {
      if (this.pending.size === 0) {
        clearInterval(this.watchdog!)
        this.watchdog = null
        return
      }
      const started = this.watch[0]
      if (started > 0 && Date.now() - started > this.timeoutMs) this.stopRunaway()
    }, Math.min(50, Math.max(10, this.timeoutMs / 10)))
    this.watchdog.unref()
  }

  private stopRunaway() {
    const worker = this.worker
    if (!worker) return
    this.watch[0] = 0
    const ids = [...this.pending.keys()].sort((a, b) => a - b)
    for (const id of ids) {
      const p = this.pending.get(id)!
      this.pending.delete(id)
      p.reject(
        id === ids[0]
          ? new RpcError('Timeout', `User code ran longer than ${this.timeoutMs} ms and was stopped`, { limitMs: this.timeoutMs })
          : new RpcError('UserCodeFailed', 'The sandbox was restarted after a runaway call before this call ran; try again', { reason: 'restart' })
      )
    }
    // Replace the worker now; its exit is then no news to the death handler.
    this.worker = null
    void worker.terminate()
    if (!this.closed && !this.booting) {
      this.restarts++
      this.ready = this.bootAndLoad()
      this.ready.catch(() => {})
    }
  }

  private spawn(): Promise<void> {
    const worker = new Worker(workerScript('sandbox-worker', join(__dirname, 'sandbox-worker.ts')), {
      workerData: { prelude: sandboxPrelude(), watch: this.watch.buffer },
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
    if (!this.closed && !this.booting) {
      this.restarts++
      this.ready = this.bootAndLoad()
      this.ready.catch(() => {})
    }
  }

  private async bootAndLoad(): Promise<void> {
    this.booting = true
    try {
      await this.spawn()
      const reports: LoadReport[] = []
      for (const [file, source] of this.files) {
        const answer = await this.loadInto(file, source)
        reports.push({ file, ok: answer.ok, failure: answer.failure })
        if (!answer.ok && answer.failure?.kind === 'timeout') {
          // The file ran away at load time and its worker was stopped: go on in a fresh one without it.
          await this.spawn()
          for (const r of reports) if (r.ok) await this.loadInto(r.file, this.files.get(r.file)!)
        }
      }
      this.loadReports = reports
    } finally {
      this.booting = false
    }
  }

  private async loadInto(file: string, source: string): Promise<{ ok: boolean; failure?: UserCodeFailure }> {
    return (await this.post({ type: 'load', file, source }).catch((error: RpcError) => ({
      ok: false,
      failure: { kind: 'timeout', name: error.code, message: `loading ran longer than ${this.timeoutMs} ms and was stopped`, location: { file, line: 1, column: 1 }, stack: '', logs: [] } satisfies UserCodeFailure
    }))) as { ok: boolean; failure?: UserCodeFailure }
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
      this.pending.set(id, { resolve, reject, timer: null })
      worker.postMessage({ id, ...message })
      if (watchdog) this.startWatchdog()
    })
  }

  /** Sends a request to the dispatcher in the context and returns its parsed result, or throws UserCodeFailed/Timeout. */
  async call<T = unknown>(request: Record<string, unknown>, where: string): Promise<{ result: T; logs: string[] }> {
    if (this.closed) throw new RpcError('UserCodeFailed', 'The sandbox is closed')
    if (!this.ready) this.ready = this.bootAndLoad()
    await this.ready
    const answer = (await this.post({ type: 'call', request: JSON.stringify(request) }).catch((error: RpcError) => {
      throw error.code === 'Timeout' ? new RpcError('Timeout', `${where}: ${error.message}`, error.details) : error
    })) as CallOutcome
    if (!answer.ok) throw userCodeError(answer.failure, where)
    return { result: JSON.parse(answer.result) as T, logs: answer.logs }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.watchdog) clearInterval(this.watchdog)
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
