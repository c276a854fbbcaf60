import { readAnswer, type SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'

/** Calls into loaded user code: the Sandbox (a worker) in the app, a SandboxContext in the same thread inside jobs. */
export interface CodeRunner {
  call<T = unknown>(request: Record<string, unknown>, where: string): Promise<{ result: T; logs: string[] }>
  /** The same with the request already as JSON text (large batches built without an object in between). */
  callText?<T = unknown>(request: string, where: string): Promise<{ result: T; logs: string[] }>
}

/** A CodeRunner over a context in this thread (used inside job workers, which are already off the main thread). */
export function inThreadRunner(context: SandboxContext): CodeRunner {
  const callText = async <T>(request: string, where: string) => {
    const answer = readAnswer(context.answer(request))
    if (!answer.ok) throw userCodeError(answer.failure, where)
    return { result: answer.result as T, logs: answer.logs }
  }
  return {
    call: <T>(request: Record<string, unknown>, where: string) => callText<T>(JSON.stringify(request), where),
    callText
  }
}
