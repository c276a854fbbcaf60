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
 * Runs user code in a vm context inside a worker thread. A call that runs too long is noticed by a watchdog
 * (the worker marks when each call starts) and its worker terminated; a worker that dies (out of memory) is
 * replaced; either way the files are loaded again into a fresh worker on the next call, the calls it held fail
 * with a clear error, and the app is never affected.
 */
export class Sandbox {
  readonly timeoutMs: number
  readonly memoryMb: number
  private worker: Worker | null = null
  private booted: Promise<void> | null = null
  /** Bumped whenever the files change or the worker is replaced; a boot of an older generation gives up. */
  private generation = 0
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private files = new Map<string, string>()
  private loadReports: LoadReport[] = []
  private closed = false
  private loading = false
  /** Slot 0: when the running call into user code started (0 = none); written by the worker. */
  private readonly watch = new Float64Array(new SharedArrayBuffer(8))
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
    this.discardWorker(new RpcError('UserCodeFailed', 'The definition files changed before this call ran; try again', { reason: 'reload' }))
    await this.ensureBooted()
    return this.loadReports
  }

  reports(): LoadReport[] {
    return this.loadReports
  }

  private ensureBooted(): Promise<void> {
    if (this.closed) return Promise.reject(new RpcError('UserCodeFailed', 'The sandbox is closed'))
    if (!this.booted) {
      const boot = this.boot(this.generation)
      this.booted = boot
      boot.catch(() => {
        if (this.booted === boot) this.booted = null
      })
    }
    return this.booted
  }

  /** Starts a worker and loads every file; a file that runs away while loading is reported and left out. */
  private async boot(generation: number): Promise<void> {
    const stale = () => generation !== this.generation || this.closed
    const reports: LoadReport[] = []
    const loaded: Array<[string, string]> = []
    await this.spawn(generation)
    for (const [file, source] of this.files) {
      if (stale()) throw new RpcError('UserCodeFailed', 'The sandbox was restarted')
      const answer = await this.loadInto(file, source)
      if (answer.ok) loaded.push([file, source])
      reports.push({ file, ok: answer.ok, failure: answer.failure })
      if (!answer.ok && answer.failure?.kind === 'timeout' && !stale()) {
        await this.spawn(generation)
        for (const [f, src] of loaded) await this.loadInto(f, src)
      }
    }
    if (stale()) throw new RpcError('UserCodeFailed', 'The sandbox was restarted')
    this.loadReports = reports
  }

  private async loadInto(file: string, source: string): Promise<{ ok: boolean; failure?: UserCodeFailure }> {
    this.loading = true
    return (await this.post({ type: 'load', file, source }).finally(() => (this.loading = false)).catch((error: RpcError) => ({
      ok: false,
      failure: {
        kind: 'timeout',
        name: error.code,
        message: error.code === 'Timeout' ? `loading ran longer than ${this.timeoutMs} ms and was stopped` : error.message,
        location: { file, line: 1, column: 1 },
        stack: '',
        logs: []
      } satisfies UserCodeFailure
    }))) as { ok: boolean; failure?: UserCodeFailure }
  }

  private async spawn(generation: number): Promise<void> {
    this.discardWorker(null, true)
    this.generation = generation
    const worker = new Worker(workerScript('sandbox-worker', 'main/sandbox/sandbox-worker.ts'), {
      workerData: { prelude: sandboxPrelude(), watch: this.watch.buffer },
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      stdout: true,
      stderr: true
    })
    this.worker = worker
    worker.on('message', (m: { id: number } & Record<string, unknown>) => {
      if (m.id === 0) return
      const p = this.pending.get(m.id)
      if (!p) return
      this.pending.delete(m.id)
      p.resolve(m)
    })
    const died = (error: Error & { code?: string }) => {
      if (worker !== this.worker) return
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY'
      this.discardWorker(
        outOfMemory
          ? new RpcError('UserCodeFailed', `User code used more than ${this.memoryMb} MB of memory and was stopped`, { reason: 'memory', limitMb: this.memoryMb })
          : new RpcError('UserCodeFailed', `The sandbox stopped: ${error.message}`, { reason: 'crash' })
      )
    }
    worker.on('error', died)
    worker.on('exit', (code) => died(new Error(`the sandbox worker exited with code ${code}`)))
    await new Promise<void>((resolve, reject) => {
      const onReady = (m: { id: number; ready?: boolean }) => {
        if (m.id === 0 && m.ready) {
          worker.off('message', onReady)
          resolve()
        }
      }
      worker.on('message', onReady)
      worker.once('exit', () => reject(new RpcError('UserCodeFailed', 'The sandbox worker stopped while starting')))
    })
  }

  /** Drops the current worker (terminating it) and fails the calls it held; the next call boots a fresh one. */
  private discardWorker(reason: RpcError | null, withinBoot = false) {
    const worker = this.worker
    this.worker = null
    this.watch[0] = 0
    if (worker) {
      this.restarts++
      // A file that runs away while the boot loads it only costs the boot its worker; the boot goes on.
      if (!withinBoot) {
        this.generation++
        this.booted = null
      }
      void worker.terminate()
    }
    if (reason) {
      for (const p of this.pending.values()) p.reject(reason)
      this.pending.clear()
    }
  }

  /** While calls are pending, checks that none has run longer than the limit; a runaway worker is terminated. */
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
    const ids = [...this.pending.keys()].sort((a, b) => a - b)
    const first = this.pending.get(ids[0])
    this.pending.delete(ids[0])
    first?.reject(new RpcError('Timeout', `User code ran longer than ${this.timeoutMs} ms and was stopped`, { limitMs: this.timeoutMs }))
    this.discardWorker(new RpcError('UserCodeFailed', 'The sandbox was restarted after a runaway call before this call ran; try again', { reason: 'restart' }), this.loading)
  }

  private post(message: Record<string, unknown>): Promise<unknown> {
    const worker = this.worker
    if (!worker) return Promise.reject(new RpcError('UserCodeFailed', 'The sandbox is not running'))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ id, ...message })
      this.startWatchdog()
    })
  }

  /** Sends a request to the dispatcher in the context and returns its parsed result, or throws UserCodeFailed/Timeout. */
  async call<T = unknown>(request: Record<string, unknown>, where: string): Promise<{ result: T; logs: string[] }> {
    return this.callText<T>(JSON.stringify(request), where)
  }

  /** A call whose request is already JSON text. */
  async callText<T = unknown>(request: string, where: string): Promise<{ result: T; logs: string[] }> {
    await this.ensureBooted()
    const answer = (await this.post({ type: 'call', request }).catch((error: RpcError) => {
      throw error.code === 'Timeout' ? new RpcError('Timeout', `${where}: ${error.message}`, error.details) : error
    })) as CallOutcome
    if (!answer.ok) throw userCodeError(answer.failure, where)
    return { result: JSON.parse(answer.result) as T, logs: answer.logs }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.watchdog) clearInterval(this.watchdog)
    this.discardWorker(new RpcError('UserCodeFailed', 'The sandbox was closed'))
  }
}
