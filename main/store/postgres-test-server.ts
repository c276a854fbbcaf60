import { createRequire } from 'node:module'
import { join } from 'node:path'
import pg from 'pg'
import { PostgresEventStore, parseStoreUrl, type PostgresStoreOptions } from './postgres-store'

/** A throwaway cluster from scripts/pg-test-server.js (127.0.0.1, a free port, a random password). */
export interface PgTestServer {
  url: string
  password: string
  dir: string
  port: number
}

interface ServerScript {
  findBinaries(): string | null
  startServer(options?: { settings?: Record<string, string>; durable?: boolean }): Promise<PgTestServer>
  stopServer(dir: string): void
}

const script = createRequire(import.meta.url)(join(__dirname, '..', '..', 'scripts', 'pg-test-server.js')) as ServerScript

/** Where the PostgreSQL binaries are, or null: the PostgreSQL tests are skipped without them. */
export const pgBinaries = script.findBinaries()
export const PG_SKIP_MESSAGE = 'PostgreSQL tests not run: no PostgreSQL binaries (initdb, pg_ctl, postgres) found; install postgresql or set ESW_PG_BIN'
if (!pgBinaries) console.warn(PG_SKIP_MESSAGE)

export const startPgTestServer = (options?: { settings?: Record<string, string>; durable?: boolean }): Promise<PgTestServer> => script.startServer(options)
export const stopPgTestServer = (server: PgTestServer | undefined): void => {
  if (server) script.stopServer(server.dir)
}

let schemas = 0

/** A store in a schema of its own on the test server; `drop` removes the schema. */
export async function openTestStore(server: PgTestServer, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresEventStore> {
  const schema = options.schema ?? `t${process.pid}_${++schemas}`
  return PostgresEventStore.open({ url: server.url, password: server.password, pollIntervalMs: 50, ...options, schema })
}

export async function dropSchema(server: PgTestServer, schema: string): Promise<void> {
  const client = new pg.Client({ ...parseStoreUrl(server.url).config, password: server.password })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
  } finally {
    await client.end()
  }
}

/** A plain client on the test server (for tests that look under the store). */
export async function rawClient(server: PgTestServer, schema?: string): Promise<pg.Client> {
  const client = new pg.Client({ ...parseStoreUrl(server.url).config, password: server.password, ...(schema ? { options: `-c search_path=${schema}` } : {}) })
  await client.connect()
  return client
}
