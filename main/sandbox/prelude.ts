import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bundleForThisProcess, sourceFile } from '../jobs/worker-path'

let cached: string | null = null

/**
 * The JavaScript evaluated first in every sandbox context: zod, the workbench module and the dispatcher, as one
 * self-contained script. The build writes it to out/main/sandbox-prelude.js; from source it is bundled on first use.
 */
export function sandboxPrelude(): string {
  if (cached) return cached
  const built = join(__dirname, 'sandbox-prelude.js')
  const file =
    !__filename.endsWith('.ts') && existsSync(built)
      ? built
      : bundleForThisProcess('sandbox-prelude', sourceFile('main/sandbox/runtime/context-runtime.ts'), { format: 'iife', external: [] })
  cached = readFileSync(file, 'utf8')
  return cached
}
