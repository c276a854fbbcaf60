import { existsSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import type { SqliteEventStore } from '../store/sqlite-store'
import { CONFIG_FILE, readConfig, workspaceConfig } from '../workspace/config'
import { workspacePaths } from '../workspace/location'
import { openWorkspaceStore } from '../workspace/workspace-store'
import { UsageError } from './output'

/**
 * The store of a workspace folder for a command: events.db, or for a workspace whose log lives in PostgreSQL its
 * working copy, brought up to the server first (the password from ESW_PG_PASSWORD).
 */
export async function openCliStore(dir: string | undefined): Promise<SqliteEventStore> {
  if (!dir) throw new UsageError('missing <dir>: the workspace folder')
  const paths = workspacePaths(resolve(dir))
  const config = existsSync(join(paths.dir, CONFIG_FILE)) ? readConfig(paths.dir) : null
  if (config?.store?.kind === 'postgres') return openWorkspaceStore(paths.database, config)
  if (!existsSync(paths.database)) throw new Error(`${paths.dir} is not a workspace (no events.db); create one with \`esw init ${dir}\``)
  return openWorkspaceStore(paths.database, config ?? workspaceConfig.parse({ name: basename(paths.dir) }))
}

export async function withCliStore<T>(dir: string | undefined, fn: (store: SqliteEventStore) => Promise<T>): Promise<T> {
  const store = await openCliStore(dir)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** For jobs that read events.db by its path: brings a PostgreSQL workspace's working copy up to the server. */
export async function syncWorkingCopy(dir: string): Promise<void> {
  const config = existsSync(join(resolve(dir), CONFIG_FILE)) ? readConfig(resolve(dir)) : null
  if (config?.store?.kind === 'postgres') await (await openCliStore(dir)).close()
}
