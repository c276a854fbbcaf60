import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { RpcError } from '../../shared/rpc/errors'
import { seedDemo } from '../jobs/seed-demo'
import { sandboxPrelude } from '../sandbox/prelude'
import { ensureDemoWorkspace } from '../workspace/demo-setup'
import { demoHistoryFiles } from '../workspace/demo-template'
import { TrustRegistry } from '../workspace/trust'
import { Workspace } from '../workspace/workspace'
import { UsageError, writeOut } from './output'

async function withWorkspace<T>(dir: string | undefined, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  if (!dir) throw new UsageError('missing <dir>: the workspace folder')
  const path = resolve(dir)
  if (!existsSync(path)) throw new Error(`${path} does not exist; create a workspace with \`esw init ${dir}\``)
  const ws = await Workspace.open(path, { trust: new TrustRegistry(), watch: false })
  try {
    return await fn(ws)
  } finally {
    await ws.close()
  }
}

/** esw command <dir> <decider> <command> <json>: the same path as the Commands panel. */
export async function command(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'idempotency-key': { type: 'string' }, 'correlation-id': { type: 'string' } }
  })
  const [dir, decider, name, json] = positionals
  if (!dir || !decider || !name) throw new UsageError("usage: esw command <dir> <decider> <command> '<json data>' [--idempotency-key K] [--correlation-id C]")
  let data: unknown
  try {
    data = JSON.parse(json ?? '{}')
  } catch (error) {
    throw new UsageError(`the command data is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError('the command data must be a JSON object')
  await withWorkspace(dir, async (ws) => {
    ws.assertTrusted(`Sending ${name}`)
    const problems = ws.state().problems
    if (problems.length) process.stderr.write(problems.map((p) => `warning: ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}\n`).join(''))
    const outcome = await ws.commands.send({ decider, command: name, data: data as Record<string, unknown>, idempotencyKey: values['idempotency-key'], correlationId: values['correlation-id'] })
    await writeOut(JSON.stringify(outcome) + '\n')
    if (outcome.outcome === 'rejected') throw new RpcError('Rejected', `${outcome.rule}: ${outcome.message}`, { rule: outcome.rule })
  })
}

/** esw trust <dir>: lets this workspace's code run. */
export async function trust(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  if (!positionals[0]) throw new UsageError('usage: esw trust <dir>')
  const path = resolve(positionals[0])
  if (!existsSync(path)) throw new Error(`${path} does not exist`)
  new TrustRegistry().trust(path)
  await writeOut(JSON.stringify({ trusted: path }) + '\n')
}

/** esw demo <dir> [--events N]: the demo shop, its log generated through its deciders. */
export async function demo(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { events: { type: 'string' } } })
  if (!positionals[0]) throw new UsageError('usage: esw demo <dir> [--events N]')
  const dir = resolve(positionals[0])
  const registry = new TrustRegistry()
  if (!ensureDemoWorkspace(dir, registry)) throw new Error(`${dir} already holds a workspace; choose an empty folder`)
  const targetEvents = values.events ? Number(values.events) : undefined
  if (targetEvents !== undefined && (!Number.isInteger(targetEvents) || targetEvents < 100)) throw new UsageError('--events must be a whole number of at least 100')
  let last = 0
  const summary = await seedDemo(
    { dbFile: `${dir}/events.db`, dir, prelude: sandboxPrelude(), historyFiles: demoHistoryFiles, targetEvents },
    {
      onProgress: (done, total) => {
        if (Date.now() - last < 1000) return
        last = Date.now()
        process.stderr.write(`generated ${done} of about ${total} events\n`)
      }
    }
  )
  await writeOut(JSON.stringify({ workspace: dir, ...(summary as object) }) + '\n')
}

/** esw replay <dir> <stream> [--at-version N | --at-position P | --at-time ISO] [--steps] [--decider NAME] */
export async function replay(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'at-version': { type: 'string' },
      'at-position': { type: 'string' },
      'at-time': { type: 'string' },
      steps: { type: 'boolean', default: false },
      decider: { type: 'string' },
      'no-snapshots': { type: 'boolean', default: false }
    }
  })
  const [dir, streamId] = positionals
  if (!dir || !streamId) throw new UsageError('usage: esw replay <dir> <stream> [--at-version N | --at-position P | --at-time ISO] [--steps] [--decider NAME]')
  const given = [values['at-version'], values['at-position'], values['at-time']].filter((v) => v !== undefined)
  if (given.length > 1) throw new UsageError('give at most one of --at-version, --at-position, --at-time')
  const whole = (name: string, v: string) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, got '${v}'`)
    return n
  }
  let at: { version: number } | { position: number } | { time: string } | undefined
  if (values['at-version'] !== undefined) at = { version: whole('at-version', values['at-version']) }
  else if (values['at-position'] !== undefined) at = { position: whole('at-position', values['at-position']) }
  else if (values['at-time'] !== undefined) {
    if (Number.isNaN(Date.parse(values['at-time']))) throw new UsageError(`--at-time must be an ISO time, got '${values['at-time']}'`)
    at = { time: values['at-time'] }
  }
  await withWorkspace(dir, async (ws) => {
    ws.assertTrusted('Replay')
    if (!values.steps) {
      const result = await ws.replayer.stateAt(streamId, { decider: values.decider, at, useSnapshots: !values['no-snapshots'] })
      await writeOut(JSON.stringify(result, null, 2) + '\n')
      return
    }
    const upTo = ws.replayer.versionAt(streamId, at, ws.store.readStreamSync(streamId, { limit: 1 }).version)
    let from = 1
    while (from <= upTo) {
      const window = await ws.replayer.steps(streamId, { decider: values.decider, fromVersion: from, limit: Math.min(500, upTo - from + 1) })
      if (window.steps.length === 0) break
      await writeOut(window.steps.map((s) => JSON.stringify(s) + '\n').join(''))
      from = window.steps.at(-1)!.event.version + 1
    }
  })
}

/** esw projections <dir>: status, position and lag of each projection, after catching up. */
export async function projections(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  await withWorkspace(positionals[0], async (ws) => {
    ws.assertTrusted('Projections')
    await ws.projections.idle(600_000)
    // A PostgreSQL workspace publishes what it projected before it answers.
    await ws.projections.published()
    await writeOut(
      ws.projections
        .list()
        .map((p) => JSON.stringify({ name: p.name, state: p.state, position: p.position, headPosition: p.headPosition, lagEvents: p.lagEvents, fault: p.fault, tables: p.tables, server: p.server }) + '\n')
        .join('')
    )
  })
}

/** esw project <dir> <projection> [--rebuild]: run a projection up to the head (or rebuild it), progress on stderr. */
export async function project(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { rebuild: { type: 'boolean', default: false } } })
  const [dir, name] = positionals
  if (!dir || !name) throw new UsageError('usage: esw project <dir> <projection> [--rebuild]')
  await withWorkspace(dir, async (ws) => {
    ws.assertTrusted('Projections')
    ws.projections.descriptor(name)
    const stop = ws.projections.on('progress', (p) => {
      if (p.projection === name) process.stderr.write(`${p.kind}: ${p.done}${p.total ? ` of ${p.total}` : ''}\n`)
    })
    try {
      if (values.rebuild) await ws.projections.rebuild(name)
      await ws.projections.idle(600_000)
      await ws.projections.published()
    } finally {
      stop()
    }
    const status = ws.projections.status(name)
    await writeOut(JSON.stringify(status) + '\n')
    if (status.fault) throw new RpcError('UserCodeFailed', `${name} is faulted at position ${status.fault.position}: ${status.fault.message}`)
  })
}

/** esw query <dir> <projection> <query> [json]: a named query's rows as NDJSON, its lag on stderr. */
export async function query(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  const [dir, projection, name, json] = positionals
  if (!dir || !projection || !name) throw new UsageError("usage: esw query <dir> <projection> <query> ['<json input>']")
  let input: unknown = {}
  try {
    input = JSON.parse(json ?? '{}')
  } catch (error) {
    throw new UsageError(`the query input is not valid JSON: ${(error as Error).message}`)
  }
  await withWorkspace(dir, async (ws) => {
    ws.assertTrusted('Queries')
    await ws.projections.idle(600_000)
    let after: string | null = null
    let lagShown = false
    do {
      const page = await ws.projections.runQuery({ projection, query: name, input, after, limit: 1000 })
      if (!lagShown) {
        process.stderr.write(`${projection} is at position ${page.lag.position} of ${page.lag.headPosition} (${page.lag.lagEvents} events behind)\n`)
        lagShown = true
      }
      await writeOut(page.rows.map((r) => JSON.stringify(r) + '\n').join(''))
      after = page.next
    } while (after)
  })
}

/** esw check <dir> <projection> --determinism|--idempotency: exit 0 when the check passes. */
export async function check(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { determinism: { type: 'boolean', default: false }, idempotency: { type: 'boolean', default: false } } })
  const [dir, name] = positionals
  if (!dir || !name || values.determinism === values.idempotency) throw new UsageError('usage: esw check <dir> <projection> --determinism|--idempotency')
  await withWorkspace(dir, async (ws) => {
    ws.assertTrusted('Checks')
    const result = await ws.projections.check(name, values.determinism ? 'determinism' : 'idempotency')
    await writeOut(JSON.stringify(result) + '\n')
    if (!result.passed) {
      const at = result.firstOffending
      throw new RpcError('Conflict', `${result.check} check failed${at ? ` first at position ${at.position} (${at.streamId}, ${at.type})` : ''}`)
    }
  })
}
