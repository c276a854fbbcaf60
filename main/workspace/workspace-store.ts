import { RpcError } from '../../shared/rpc/errors'
import { parseStoreUrl } from '../store/postgres-store'
import { ReplicaEventStore, unreachable } from '../store/replica'
import { SqliteEventStore } from '../store/sqlite-store'
import type { WorkspaceConfig } from './config'
import { MemoryCredentials, type Credentials } from './credentials'

export interface WorkspaceStoreOptions {
  credentials?: Credentials
  /** Busy timeout of the SQLite connection (short on the app's main thread). */
  busyTimeoutMs?: number
  /** A password given with this request (kept in `credentials` when it works). */
  password?: string
  /** Keep a given password across launches (the desktop app's keychain). */
  rememberPassword?: boolean
}

/** The key credentials are kept under: the server URL without a password. */
export const serverLocation = (url: string): string => parseStoreUrl(url).redacted

/**
 * The store of a workspace: events.db itself, or, for a workspace whose log lives in PostgreSQL, events.db as the
 * working copy of it (store/replica.ts). A server that wants a password the workbench lacks, or refuses the one
 * it has, is a CredentialsNeeded error naming the server; one that cannot be reached is Unavailable.
 */
export async function openWorkspaceStore(database: string, config: WorkspaceConfig, options: WorkspaceStoreOptions = {}): Promise<SqliteEventStore> {
  const store = config.store
  if (!store || store.kind === 'sqlite') return new SqliteEventStore(database, { busyTimeoutMs: options.busyTimeoutMs })
  const credentials = options.credentials ?? new MemoryCredentials()
  const location = serverLocation(store.url)
  const password = options.password ?? credentials.get(location)
  try {
    const replica = await ReplicaEventStore.open(
      database,
      { url: store.url, ...(store.schema ? { schema: store.schema } : {}), ...(password !== undefined ? { password } : {}) },
      { busyTimeoutMs: options.busyTimeoutMs }
    )
    if (options.password !== undefined) credentials.set(location, options.password, options.rememberPassword ?? false)
    return replica
  } catch (error) {
    throw connectionError(error, location, password !== undefined, credentials)
  }
}

function connectionError(error: unknown, location: string, hadPassword: boolean, credentials: Credentials): unknown {
  const e = error as { code?: string; message?: string }
  const message = e.message ?? String(error)
  if (e.code === '28P01' || e.code === '28000' || /password must be a string|password authentication failed|SASL/i.test(message)) {
    if (hadPassword) credentials.forget(location)
    return new RpcError(
      'CredentialsNeeded',
      hadPassword ? `${location} refused the password: ${message}` : `${location} wants a password: give it here, or in ESW_PG_PASSWORD for the command line and the browser host`,
      { location }
    )
  }
  // Also a database that does not exist (3D000) on a server that answers.
  if (unreachable(error) || e.code === '3D000') {
    return new RpcError('Unavailable', `The PostgreSQL store at ${location} cannot be reached: ${message}`, { location })
  }
  return error
}
