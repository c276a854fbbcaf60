import vm from 'node:vm'
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping'
import { transpile } from './transpile'

/** Where in the user's TypeScript something went wrong. */
export interface SourceLocation {
  file: string
  line: number
  column: number
}

export interface UserCodeFailure {
  kind: 'error' | 'timeout'
  message: string
  name: string
  location: SourceLocation | null
  stack: string
  logs: string[]
}

export type CallOutcome = { ok: true; result: string; logs: string[] } | { ok: false; failure: UserCodeFailure }

const WRAP_PREFIX = (file: string) => `__esw_define(${JSON.stringify(file)}, function (module, exports, require) {`

/**
 * One vm context holding the prelude (zod + the workbench module + the dispatcher) and the workspace's
 * definition files. Only strings go in and come out. Runs in whatever thread holds it (a sandbox worker, a job
 * worker); it is never the app's main thread.
 */
export class SandboxContext {
  private readonly context: vm.Context
  private readonly dispatch: vm.Script
  private readonly maps = new Map<string, { map: TraceMap; prefix: number }>()

  /**
   * @param watch slot 0 holds the time a call into user code started (0 when none runs). The thread that owns this
   *   context's thread watches it and terminates the thread when a call runs too long: V8 cannot be interrupted
   *   cheaply per call (a vm timeout starts a watchdog thread each time, ~120 µs), a terminated worker can.
   */
  constructor(
    prelude: string,
    private readonly watch: Float64Array = new Float64Array(1)
  ) {
    this.context = vm.createContext(Object.create(null), {
      name: 'workbench user code',
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate'
    })
    new vm.Script(prelude, { filename: 'workbench-prelude.js' }).runInContext(this.context)
    this.dispatch = new vm.Script('__esw_dispatch(__esw_request)', { filename: 'workbench-dispatch.js' })
  }

  /** Transpiles and runs one definition file, registering its exports. */
  load(file: string, source: string): { ok: true } | { ok: false; failure: UserCodeFailure } {
    const out = transpile(file, source)
    if ('error' in out) {
      return {
        ok: false,
        failure: { kind: 'error', name: 'SyntaxError', message: out.error.message, location: { file, line: out.error.line, column: out.error.column }, stack: '', logs: [] }
      }
    }
    const prefix = WRAP_PREFIX(file)
    this.maps.set(file, { map: new TraceMap(out.map), prefix: prefix.length })
    this.watch[0] = Date.now()
    try {
      new vm.Script(`${prefix}${out.code}\n})`, { filename: file }).runInContext(this.context)
      return { ok: true }
    } catch (error) {
      return { ok: false, failure: this.describe(error) }
    } finally {
      this.watch[0] = 0
    }
  }

  /** Runs one request through the dispatcher; the request and the answer are JSON text. */
  call(request: string): CallOutcome {
    ;(this.context as Record<string, unknown>).__esw_request = request
    let answer: unknown
    this.watch[0] = Date.now()
    try {
      answer = this.dispatch.runInContext(this.context)
    } catch (error) {
      return { ok: false, failure: this.describe(error) }
    } finally {
      this.watch[0] = 0
      ;(this.context as Record<string, unknown>).__esw_request = undefined
    }
    if (typeof answer !== 'string') return { ok: false, failure: this.describe(new Error('the sandbox answered with something other than text')) }
    const parsed = JSON.parse(answer) as { ok: boolean; result?: unknown; error?: { name: string; message: string; stack: string }; logs: string[] }
    if (parsed.ok) return { ok: true, result: JSON.stringify(parsed.result ?? null), logs: parsed.logs }
    const e = parsed.error!
    return { ok: false, failure: { kind: 'error', name: e.name, message: e.message, stack: e.stack, location: this.locate(e.stack), logs: parsed.logs } }
  }

  private describe(error: unknown): UserCodeFailure {
    // Errors thrown while loading come from the context; read them as text only.
    let name = 'Error'
    let message = 'user code failed'
    let stack = ''
    try {
      name = String((error as { name?: unknown }).name ?? 'Error')
      message = String((error as { message?: unknown }).message ?? error)
      stack = String((error as { stack?: unknown }).stack ?? '')
    } catch {
      // A value whose fields throw: keep the defaults.
    }
    return { kind: 'error', name, message, stack, location: this.locate(stack), logs: [] }
  }

  /** The first stack frame in a definition file, mapped back to the user's TypeScript. */
  private locate(stack: string): SourceLocation | null {
    for (const match of stack.matchAll(/\(?([^\s()]+\.ts):(\d+):(\d+)\)?/g)) {
      const [, file, lineText, columnText] = match
      const entry = this.maps.get(file)
      if (!entry) continue
      const line = Number(lineText)
      let column = Number(columnText) - 1
      if (line === 1) column -= entry.prefix
      const original = originalPositionFor(entry.map, { line, column: Math.max(column, 0) })
      if (original.line !== null) return { file, line: original.line, column: (original.column ?? 0) + 1 }
      return { file, line, column: column + 1 }
    }
    return null
  }
}
