import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { sandboxPrelude } from '../sandbox/prelude'
import { AsReadLog, upcasterContext } from '../versioning/as-read'
import { trustedWorkspace } from './upcasting-commands'
import { expectedVersion as expectedVersionSchema, type NewEvent } from '../../shared/model/events'
import { RpcError } from '../../shared/rpc/errors'
import { exportEvents, importEvents } from '../store/ndjson'
import { ReplicaEventStore } from '../store/replica'
import { CONFIG_FILE, configForPostgres, readConfig, workspaceConfig, writeConfig, type WorkspaceConfig } from '../workspace/config'
import { openWorkspaceStore } from '../workspace/workspace-store'
import { ensureWorkspaceDir, workspacePaths } from '../workspace/location'
import { TrustRegistry } from '../workspace/trust'
import { readLines, UsageError, writeOut } from './output'
import { withCliStore } from './workspace-store'
import { importIntoPostgres } from '../store/postgres-import'

type Args = string[]

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, got '${value}'`)
  return n
}

export async function init(args: Args): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { postgres: { type: 'string' }, schema: { type: 'string' } } })
  const dir = positionals[0]
  if (!dir || positionals.length > 1) throw new UsageError('usage: esw init <dir> [--postgres postgres://user@host:port/db [--schema S]]   (password in ESW_PG_PASSWORD)')
  if (values.schema && !values.postgres) throw new UsageError('--schema goes with --postgres')
  const target = resolve(dir)
  const existed = existsSync(target)
  const paths = workspacePaths(target)
  let config: WorkspaceConfig = existsSync(join(target, CONFIG_FILE)) ? readConfig(target) : workspaceConfig.parse({ name: basename(target) })
  if (values.postgres) {
    try {
      config = configForPostgres(target, { url: values.postgres, ...(values.schema ? { schema: values.schema } : {}) })
    } catch (error) {
      const field = ((error as RpcError).details as { field?: string } | undefined)?.field
      throw new UsageError(`--${field === 'postgres.schema' ? 'schema' : 'postgres'}: ${(error as Error).message}`)
    }
  }
  ensureWorkspaceDir(target)
  try {
    // Opening the store checks the server (and takes the working copy of its log).
    const store = await openWorkspaceStore(paths.database, config)
    writeConfig(paths.dir, config)
    new TrustRegistry().trust(paths.dir)
    const where = store instanceof ReplicaEventStore ? { postgres: store.location, schema: store.remote.schema, events: store.head() } : {}
    await store.close()
    await writeOut(JSON.stringify({ workspace: paths.dir, database: paths.database, ...where }) + '\n')
  } catch (error) {
    if (!existed) rmSync(paths.dir, { recursive: true, force: true })
    throw error
  }
}

export async function append(args: Args): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { 'expected-version': { type: 'string', default: 'any' } } })
  const [dir, streamId] = positionals
  if (!dir || !streamId) throw new UsageError('usage: esw append <dir> <stream> [--expected-version any|no-stream|exists|N] < events.ndjson')
  const raw = values['expected-version']
  const parsed = expectedVersionSchema.safeParse(/^\d+$/.test(raw) ? Number(raw) : raw)
  if (!parsed.success) throw new UsageError(`--expected-version must be any, no-stream, exists or a number, got '${raw}'`)
  const events: NewEvent[] = []
  let line = 0
  for await (const text of readLines(process.stdin)) {
    line++
    if (!text.trim()) continue
    try {
      events.push(JSON.parse(text) as NewEvent)
    } catch (error) {
      throw new RpcError('InvalidInput', `stdin line ${line}: not valid JSON (${(error as Error).message})`)
    }
  }
  if (events.length === 0) throw new UsageError('no events on stdin: give one JSON event per line ({"type": ..., "data": {...}})')
  await withCliStore(dir, async (store) => {
    const result = await store.appendToStream(streamId, events, { expectedVersion: parsed.data })
    await writeOut(JSON.stringify(result) + '\n')
  })
}

export async function read(args: Args): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { from: { type: 'string' }, backwards: { type: 'boolean', default: false }, limit: { type: 'string' } }
  })
  const [dir, streamId] = positionals
  if (!dir || !streamId) throw new UsageError('usage: esw read <dir> <stream> [--from N] [--backwards] [--limit N]')
  const limit = integer('limit', values.limit) ?? Number.MAX_SAFE_INTEGER
  let from = integer('from', values.from)
  await withCliStore(dir, async (store) => {
    let printed = 0
    for (;;) {
      const page = store.readStreamSync(streamId, { from, direction: values.backwards ? 'backwards' : 'forwards', limit: Math.min(1000, limit - printed) })
      if (page.state === 'missing' && printed === 0) throw new RpcError('NotFound', `Stream ${streamId} does not exist`)
      let chunk = ''
      for (const e of page.events) {
        chunk += JSON.stringify({ ...e, recordedAt: new Date(e.recordedAt).toISOString() }) + '\n'
      }
      printed += page.events.length
      await writeOut(chunk)
      if (page.next === null || printed >= limit) break
      from = page.next
    }
  })
}

export async function exportCommand(args: Args): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      stream: { type: 'string' },
      category: { type: 'string' },
      type: { type: 'string', multiple: true },
      'from-position': { type: 'string' },
      'to-position': { type: 'string' },
      out: { type: 'string' },
      upcast: { type: 'boolean', default: false }
    }
  })
  const filter = {
    streamId: values.stream,
    category: values.category,
    types: values.type,
    fromPosition: integer('from-position', values['from-position']),
    toPosition: integer('to-position', values['to-position'])
  }
  // As read: through the workspace's upcasters (its code runs, so it must be trusted).
  const asRead = values.upcast ? new AsReadLog(upcasterContext(sandboxPrelude(), trustedWorkspace(positionals[0], 'Exporting events as read').files)) : null
  await withCliStore(positionals[0], async (store) => {
    const file = values.out ? createWriteStream(values.out) : null
    const sink = file
      ? (chunk: string) => (file.write(chunk) ? undefined : new Promise<void>((r) => file.once('drain', () => r())))
      : writeOut
    let lastShown = 0
    const result = await exportEvents(store, filter, sink, {
      onProgress: (done, total) => {
        if (!file || Date.now() - lastShown < 500) return
        lastShown = Date.now()
        process.stderr.write(`exported up to ${done} of ${total} positions\n`)
      }
    }, asRead ? (rows) => asRead.read(rows) : undefined)
    if (file) await new Promise<void>((r, j) => file.end((e?: Error | null) => (e ? j(e) : r())))
    if (file) process.stderr.write(`exported ${result.events} events (${result.bytes} bytes) to ${values.out}\n`)
  })
}

export async function importCommand(args: Args): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  const [dir, file] = positionals
  await withCliStore(dir, async (store) => {
    const input = file ? createReadStream(file, { encoding: 'utf8' }) : process.stdin
    // Into a PostgreSQL workspace: checked against its working copy, then written to the server, then copied back.
    const result =
      store instanceof ReplicaEventStore ? await importIntoPostgres(store.db.name, store.remote.connection, readLines(input)) : await importEvents(store, readLines(input))
    if (store instanceof ReplicaEventStore) await store.sync()
    process.stderr.write(`imported ${result.events} events into ${result.streams} streams (${result.mode}${result.skipped ? `, ${result.skipped} already stored` : ''})\n`)
  })
}

export async function streams(args: Args): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { category: { type: 'string' }, contains: { type: 'string' }, type: { type: 'string' }, 'include-deleted': { type: 'boolean', default: false } }
  })
  await withCliStore(positionals[0], async (store) => {
    let after: string | undefined
    for (;;) {
      const page = await store.listStreams({ category: values.category, nameContains: values.contains, eventType: values.type, includeDeleted: values['include-deleted'], after, limit: 1000 })
      await writeOut(page.streams.map((s) => JSON.stringify(s) + '\n').join(''))
      if (!page.next) break
      after = page.next
    }
  })
}

export async function stats(args: Args): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  await withCliStore(positionals[0], async (store) => {
    await writeOut(JSON.stringify(await store.stats(), null, 2) + '\n')
  })
}

