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
  demo: z.boolean().optional(),
  /**
   * Where the log lives: events.db in the folder (the default), or a PostgreSQL server that events.db then keeps a
   * working copy of. The URL never holds a password: the desktop app keeps it in the OS keychain, the command line
   * and the browser host read ESW_PG_PASSWORD.
   */
  store: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('sqlite') }),
      z.object({
        kind: z.literal('postgres'),
        url: z
          .string()
          .max(2000)
          .regex(/^postgres(ql)?:\/\//i, 'a postgres:// or postgresql:// URL')
          .refine((url) => !urlPassword(url), 'holds a password: the workspace keeps none in clear text (the keychain or ESW_PG_PASSWORD does)'),
        /** The PostgreSQL schema the store's tables live in (default: the URL's ?schema=, else esw). */
        schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _ only').optional()
      })
    ])
    .optional()
})
export type WorkspaceConfig = z.infer<typeof workspaceConfig>

function urlPassword(url: string): boolean {
  try {
    return new URL(url).password !== ''
  } catch {
    return false
  }
}

export type StoreConfig = NonNullable<WorkspaceConfig['store']>

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

/**
 * The config of a workspace folder (read, or made for a new one) with its log pointed at a PostgreSQL store. Refused,
 * naming the field, when the folder keeps its log in PostgreSQL already, has an events.db of its own (its log is
 * moved with `esw copy`), or the URL or schema is not acceptable (a password in the URL is not).
 */
export function configForPostgres(dir: string, postgres: { url: string; schema?: string }): WorkspaceConfig {
  const config = existsSync(join(dir, CONFIG_FILE)) ? readConfig(dir) : workspaceConfig.parse({ name: basename(dir) })
  if (config.store?.kind === 'postgres') throw new RpcError('InvalidInput', `${dir} keeps its log in PostgreSQL already (${config.store.url})`, { field: 'postgres' })
  if (existsSync(join(dir, 'events.db'))) {
    throw new RpcError('InvalidInput', `${dir} has its own events.db: move its log with \`esw copy ${dir} ${postgres.url}\` instead`, { field: 'postgres' })
  }
  const parsed = workspaceConfig.safeParse({ ...config, store: { kind: 'postgres', ...postgres } })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = String(issue.path[issue.path.length - 1] ?? '')
    throw new RpcError('InvalidInput', `PostgreSQL ${field || 'store'}: ${issue.message}`, { field: `postgres.${field}` })
  }
  return parsed.data
}
