import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { z } from 'zod'
import { RpcError } from '../../shared/rpc/errors'

export const workspaceConfig = z.object({
  name: z.string().min(1).max(200),
  /** Free description shown in the Workspace panel. */
  description: z.string().max(2000).optional(),
  settings: z
    .object({
      /** Longest one call into user code may run (ms). */
      userCodeTimeoutMs: z.number().int().min(50).max(60_000).default(2000),
      /** Heap limit of the sandbox worker (MB). */
      userCodeMemoryMb: z.number().int().min(32).max(4096).default(256)
    })
    .default({ userCodeTimeoutMs: 2000, userCodeMemoryMb: 256 }),
  /** True for the bundled demo shop. */
  demo: z.boolean().optional()
})
export type WorkspaceConfig = z.infer<typeof workspaceConfig>

export const CONFIG_FILE = 'workbench.json'

/** Reads workbench.json, or makes one named after the folder. A malformed file is an error naming the field. */
export function readConfig(dir: string): WorkspaceConfig {
  const file = join(dir, CONFIG_FILE)
  if (!existsSync(file)) return workspaceConfig.parse({ name: basename(dir) })
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new RpcError('InvalidInput', `${file} is not valid JSON: ${(error as Error).message}`, { file })
  }
  const parsed = workspaceConfig.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new RpcError('InvalidInput', `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { file })
  }
  return parsed.data
}

export function writeConfig(dir: string, config: WorkspaceConfig): void {
  writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n')
}
