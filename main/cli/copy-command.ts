import { existsSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { copyLog, postgresSide, sqliteSide, type LogSide } from '../store/postgres-copy'
import { PostgresEventStore, parseStoreUrl } from '../store/postgres-store'
import { SqliteEventStore } from '../store/sqlite-store'
import { ensureWorkspaceDir, workspacePaths } from '../workspace/location'
import { TrustRegistry } from '../workspace/trust'
import { CONFIG_FILE, readConfig } from '../workspace/config'
import { UsageError, writeOut } from './output'

const isUrl = (location: string) => /^postgres(ql)?:\/\//i.test(location)

interface Opened {
  side: LogSide
  label: string
  close(): Promise<void>
}

/** A PostgreSQL URL (password from ESW_PG_PASSWORD, never in the URL) or a workspace folder (SQLite). */
async function open(location: string, role: 'from' | 'to'): Promise<Opened> {
  if (isUrl(location)) {
    parseStoreUrl(location)
    if (new URL(location).password) {
      throw new UsageError('put no password in the URL (command lines are visible to other users): give it in the ESW_PG_PASSWORD environment variable')
    }
    const store = await PostgresEventStore.open({ url: location })
    return { side: postgresSide(store), label: store.location, close: () => store.close() }
  }
  const dir = resolve(location)
  const paths = workspacePaths(dir)
  const config = existsSync(join(dir, CONFIG_FILE)) ? readConfig(dir) : null
  if (config?.store?.kind === 'postgres') {
    throw new UsageError(`${dir} keeps its log in PostgreSQL (events.db there is only a working copy): give ${config.store.url} as <${role}> instead`)
  }
  if (!existsSync(paths.database)) {
    if (role === 'from') throw new Error(`${dir} is not a workspace (no events.db)`)
    // The target workspace is made as `esw init` makes one.
    ensureWorkspaceDir(dir)
    const config = join(dir, 'workbench.json')
    if (!existsSync(config)) writeFileSync(config, JSON.stringify({ name: basename(dir), trusted: true, settings: {} }, null, 2) + '\n')
    new TrustRegistry().trust(dir)
  }
  const store = new SqliteEventStore(paths.database)
  return { side: sqliteSide(store), label: paths.database, close: () => store.close() }
}

/** esw copy <from> <to>: a whole log between SQLite and PostgreSQL, into an empty store, verified. */
export async function copy(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { quiet: { type: 'boolean', default: false } } })
  const [from, to] = positionals
  if (!from || !to || positionals.length > 2) throw new UsageError('usage: esw copy <from> <to>   (each a workspace folder or postgres://user@host:port/db[?schema=S])')
  if (!isUrl(from) && !isUrl(to) && resolve(from) === resolve(to)) throw new UsageError('<from> and <to> are the same workspace')
  const source = await open(from, 'from')
  try {
    const target = await open(to, 'to')
    try {
      const started = Date.now()
      let lastReport = started
      const report = await copyLog(source.side, target.side, (done, total) => {
        if (values.quiet || Date.now() - lastReport < 1000) return
        lastReport = Date.now()
        process.stderr.write(`copied up to position ${done} of ${total}\n`)
      })
      await writeOut(
        JSON.stringify({
          from: source.label,
          to: target.label,
          events: report.events,
          streams: report.streams,
          headPosition: report.headPosition,
          verified: report.verified,
          seconds: (Date.now() - started) / 1000
        }) + '\n'
      )
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}
