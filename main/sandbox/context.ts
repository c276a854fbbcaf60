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

/** An answer read from its JSON text: the result as a value (plain data of the reading thread's realm). */
export type ParsedOutcome = { ok: true; result: unknown; logs: string[] } | { ok: false; failure: UserCodeFailure }

const SUCCESS_PREFIX = '{"ok":true,'

/**
 * Reads the text `SandboxContext.answer` gives. The text may come from user code (the context's JSON can be
 * replaced), so anything that is not a well-formed answer becomes a failure, never an exception.
 */
export function readAnswer(text: string): ParsedOutcome {
  let parsed: { ok?: unknown; result?: unknown; logs?: unknown; failure?: UserCodeFailure }
  try {
    parsed = JSON.parse(text) as typeof parsed
  } catch {
    parsed = {}
  }
  if (parsed && parsed.ok === true) return { ok: true, result: parsed.result ?? null, logs: Array.isArray(parsed.logs) ? parsed.logs.map(String) : [] }
  if (parsed && parsed.ok === false && parsed.failure && typeof parsed.failure === 'object') return { ok: false, failure: parsed.failure }
  return { ok: false, failure: malformed() }
}

function malformed(): UserCodeFailure {
  return { kind: 'error', name: 'Error', message: 'the sandbox answered with something other than its JSON answer', location: null, stack: '', logs: [] }
}

/** Builtins of the context handed to the prelude as locals (not Date: the prelude replaces it on the global). */
const PRELUDE_LOCALS = [
  'Object', 'Array', 'JSON', 'Math', 'String', 'Number', 'Boolean', 'Symbol', 'Map', 'Set', 'WeakMap', 'WeakSet', 'Error', 'TypeError',
  'RangeError', 'SyntaxError', 'Promise', 'Reflect', 'RegExp', 'Function', 'BigInt', 'Proxy', 'parseInt', 'parseFloat', 'isNaN', 'isFinite',
  'encodeURIComponent', 'decodeURIComponent', 'globalThis'
].join(', ')

/**
 * The built-ins user code reads most, bound once per file as variables of an enclosing function: in a vm context a
 * global name is looked up through the context's interceptors on every use, a closure variable is not. The module
 * body sits in an inner function, so a file may still declare its own variable of the same name.
 */
const INTRINSICS = 'Object, Array, JSON, Math, Number, String, Boolean, Date, Map, Set, WeakMap, WeakSet, Symbol, Error, TypeError, RangeError, RegExp, Reflect, Promise, parseInt, parseFloat, isNaN, isFinite, console'
const WRAP_PREFIX = (file: string) => `__esw_define(${JSON.stringify(file)}, (function (${INTRINSICS}) { return function (module, exports, require) {`
const WRAP_SUFFIX = `\n}})(${INTRINSICS}))`

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
    // The builtins the prelude uses most are bound as parameters of a wrapper: inside a vm context a global name is
    // looked up through the context's interceptors on every use, a parameter is a plain local.
    new vm.Script(`(function (${PRELUDE_LOCALS}) {${prelude}\n})(${PRELUDE_LOCALS})`, { filename: 'workbench-prelude.js' }).runInContext(this.context)
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
      new vm.Script(`${prefix}${out.code}${WRAP_SUFFIX}`, { filename: file }).runInContext(this.context)
      return { ok: true }
    } catch (error) {
      return { ok: false, failure: this.describe(error) }
    } finally {
      this.watch[0] = 0
    }
  }

  /** Runs one request through the dispatcher; the request and the answer are JSON text. */
  call(request: string): CallOutcome {
    const answer = readAnswer(this.answer(request))
    return answer.ok ? { ok: true, result: JSON.stringify(answer.result), logs: answer.logs } : answer
  }

  /**
   * Runs one request through the dispatcher and gives its answer as JSON text for `readAnswer`: a success is the
   * dispatcher's own text, passed on without being parsed here; a failure is read here, where the source maps are,
   * and given as `{"ok":false,"failure":…}`.
   */
  answer(request: string): string {
    ;(this.context as Record<string, unknown>).__esw_request = request
    let answer: unknown
    this.watch[0] = Date.now()
    try {
      answer = this.dispatch.runInContext(this.context)
    } catch (error) {
      return JSON.stringify({ ok: false, failure: this.describe(error) })
    } finally {
      this.watch[0] = 0
      ;(this.context as Record<string, unknown>).__esw_request = undefined
    }
    if (typeof answer !== 'string') return JSON.stringify({ ok: false, failure: this.describe(new Error('the sandbox answered with something other than text')) })
    if (answer.startsWith(SUCCESS_PREFIX)) return answer
    let parsed: { ok?: unknown; error?: { name?: unknown; message?: unknown; stack?: unknown }; logs?: unknown }
    try {
      parsed = JSON.parse(answer) as typeof parsed
    } catch {
      return JSON.stringify({ ok: false, failure: malformed() })
    }
    if (!parsed || parsed.ok !== false || !parsed.error) return JSON.stringify({ ok: false, failure: malformed() })
    const e = parsed.error
    const stack = typeof e.stack === 'string' ? e.stack : ''
    const logs = Array.isArray(parsed.logs) ? parsed.logs.map(String) : []
    const failure: UserCodeFailure = { kind: 'error', name: String(e.name ?? 'Error'), message: String(e.message ?? ''), stack, location: this.locate(stack), logs }
    return JSON.stringify({ ok: false, failure })
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
  locate(stack: string): SourceLocation | null {
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
