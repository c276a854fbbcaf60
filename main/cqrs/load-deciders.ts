import type { SandboxContext } from '../sandbox/context'
import { userCodeError } from '../sandbox/sandbox'
import type { DeciderHandle } from './command-bus'

/**
 * Loads definition files into a context in this thread (a job worker's) and returns their deciders.
 * `strict` throws at the first file that fails to load; otherwise such files are left out, as the app does.
 */
export function loadDeciders(context: SandboxContext, files: Array<readonly [string, string]>, options: { strict: boolean }): DeciderHandle[] {
  const handles: DeciderHandle[] = []
  for (const [file, source] of files) {
    const loaded = context.load(file, source)
    if (!loaded.ok) {
      if (options.strict) throw userCodeError(loaded.failure, `loading ${file}`)
      continue
    }
    const answer = context.call(JSON.stringify({ op: 'describe', file }))
    if (!answer.ok) {
      if (options.strict) throw userCodeError(answer.failure, `describing ${file}`)
      continue
    }
    for (const d of JSON.parse(answer.result) as Array<DeciderHandle & { kind: string }>) if (d.kind === 'decider') handles.push({ ...d, file })
  }
  return handles
}
