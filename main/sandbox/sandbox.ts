import { Worker } from 'node:worker_threads'
import { RpcError } from '../../shared/rpc/errors'
import { workerScript } from '../jobs/worker-path'
import { readAnswer, type UserCodeFailure } from './context'
import { ABANDONED, APP_WATCH_MS, HEADER_BYTES, IDLE, LENGTH, POSTED, READY, REPLY, TEXT_BYTES, WATCHING, WORKER_WATCH_MS, Watching } from './handoff'
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
  resolve(answer: string): void
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
  /** The boot that finished loading the files (equal to `booted` once the current worker is ready). */
  private finished: Promise<void> | null = null
  /** Bumped whenever the files change or the worker is replaced; a boot of an older generation gives up. */
  private generation = 0
  /** Messages sent to the worker and not answered yet, oldest first: the worker answers in order. */
  private pending: Pending[] = []
  private files = new Map<string, string>()
  private loadReports: LoadReport[] = []
  private closed = false
  private loading = false
  /** Slot 0: when the running call into user code started (0 = none); written by the worker. */
  private readonly watch = new Float64Array(new SharedArrayBuffer(8))
  private watchdog: NodeJS.Timeout | null = null
  /** Shared with the current worker, a fresh one per worker (see handoff.ts). */
  private slots: Int32Array<ArrayBufferLike> = new Int32Array(HEADER_BYTES / 4)
  private text: Uint8Array<ArrayBufferLike> = new Uint8Array(0)
  private readonly watching = new Watching(APP_WATCH_MS)
  private readonly decoder = new TextDecoder()
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
      boot.then(
        () => {
          if (this.booted === boot) this.finished = boot
        },
        () => {
          if (this.booted === boot) this.booted = null
        }
      )
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
    return (await this.post({ file, source })
      .then((text) => JSON.parse(text) as { ok: boolean; failure?: UserCodeFailure })
      .finally(() => (this.loading = false))
      .catch((error: RpcError) => ({
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
    const handoff = new SharedArrayBuffer(HEADER_BYTES + TEXT_BYTES)
    this.slots = new Int32Array(handoff, 0, HEADER_BYTES / 4)
    this.text = new Uint8Array(handoff, HEADER_BYTES)
    const worker = new Worker(workerScript('sandbox-worker', 'main/sandbox/sandbox-worker.ts'), {
      workerData: { prelude: sandboxPrelude(), watch: this.watch.buffer, handoff, watchMs: WORKER_WATCH_MS },
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      stdout: true,
      stderr: true
    })
    this.worker = worker
    worker.on('message', (answer: unknown) => {
      if (typeof answer !== 'string' || worker !== this.worker) return
      // The answer the app stopped watching for comes this way; shared memory is free again.
      if (Atomics.load(this.slots, REPLY) === ABANDONED) Atomics.store(this.slots, REPLY, IDLE)
      this.pending.shift()?.resolve(answer)
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
      const onReady = (m: { ready?: boolean }) => {
        if (typeof m === 'object' && m.ready) {
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
    // Answers are matched to calls by order, so no call may stay behind for the next worker.
    const held = this.pending
    this.pending = []
    for (const p of held) p.reject(reason ?? new RpcError('UserCodeFailed', 'The sandbox was restarted before this call ran; try again', { reason: 'restart' }))
  }

  /** While calls are pending, checks that none has run longer than the limit; a runaway worker is terminated. */
  private startWatchdog() {
    if (this.watchdog) return
    this.watchdog = setInterval(() => {
      if (this.pending.length === 0) {
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
    const first = this.pending.shift()
    first?.reject(new RpcError('Timeout', `User code ran longer than ${this.timeoutMs} ms and was stopped`, { limitMs: this.timeoutMs }))
    this.discardWorker(new RpcError('UserCodeFailed', 'The sandbox was restarted after a runaway call before this call ran; try again', { reason: 'restart' }), this.loading)
  }

  private post(message: string | { file: string; source: string }): Promise<string> {
    const worker = this.worker
    if (!worker) return Promise.reject(new RpcError('UserCodeFailed', 'The sandbox is not running'))
    return new Promise((resolve, reject) => {
      // Watch for the answer only to a call that is alone in flight: the worker's next answer is its answer.
      const watch = typeof message === 'string' && this.pending.length === 0 && Atomics.load(this.slots, REPLY) === IDLE && this.watching.take()
      this.pending.push({ resolve, reject })
      if (watch) Atomics.store(this.slots, REPLY, WATCHING)
      Atomics.add(this.slots, POSTED, 1)
      worker.postMessage(message)
      this.startWatchdog()
      if (watch) this.watchForAnswer()
    })
  }

  /** Watches shared memory a moment for the answer (well under a millisecond); if it is not there, it comes as a message. */
  private watchForAnswer() {
    const deadline = performance.now() + this.watching.ms
    while (Atomics.load(this.slots, REPLY) === WATCHING && performance.now() < deadline);
    if (Atomics.load(this.slots, REPLY) !== READY && Atomics.compareExchange(this.slots, REPLY, WATCHING, ABANDONED) !== READY) {
      this.watching.missed()
      return
    }
    this.watching.paid()
    const answer = this.decoder.decode(this.text.subarray(0, this.slots[LENGTH]))
    Atomics.store(this.slots, REPLY, IDLE)
    this.pending.shift()!.resolve(answer)
  }

  /** Sends a request to the dispatcher in the context and returns its parsed result, or throws UserCodeFailed/Timeout. */
  async call<T = unknown>(request: Record<string, unknown>, where: string): Promise<{ result: T; logs: string[] }> {
    return this.callText<T>(JSON.stringify(request), where)
  }

  /** A call whose request is already JSON text. */
  async callText<T = unknown>(request: string, where: string): Promise<{ result: T; logs: string[] }> {
    if (!this.worker || this.finished !== this.booted) await this.ensureBooted()
    const answer = readAnswer(
      await this.post(request).catch((error: RpcError) => {
        throw error.code === 'Timeout' ? new RpcError('Timeout', `${where}: ${error.message}`, error.details) : error
      })
    )
    if (!answer.ok) throw userCodeError(answer.failure, where)
    return { result: answer.result as T, logs: answer.logs }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.watchdog) clearInterval(this.watchdog)
    this.discardWorker(new RpcError('UserCodeFailed', 'The sandbox was closed'))
  }
}
