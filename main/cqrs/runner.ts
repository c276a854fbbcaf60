import { RpcError } from '../../shared/rpc/errors'
import type { SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'

/** Calls into loaded user code: the Sandbox (a worker) in the app, a SandboxContext in the same thread inside jobs. */
export interface CodeRunner {
  call<T = unknown>(request: Record<string, unknown>, where: string): Promise<{ result: T; logs: string[] }>
}

/** A CodeRunner over a context in this thread (used inside job workers, which are already off the main thread). */
export function inThreadRunner(context: SandboxContext): CodeRunner {
  return {
    call: async <T>(request: Record<string, unknown>, where: string) => {
      const answer = context.call(JSON.stringify(request))
      if (!answer.ok) throw userCodeError(answer.failure, where)
      return { result: JSON.parse(answer.result) as T, logs: answer.logs }
    }
  }
}

export function notLoaded(what: string): RpcError {
  return new RpcError('NotFound', what)
}
