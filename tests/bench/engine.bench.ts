/**
 * Benchmarks of the engine's user-code paths, each against the same work done in plain Node:
 *  - commands per second through the full path (validate, load, fold, decide, append) over the sandbox, against
 *    the same deciders called in-process through the same command bus;
 *  - rehydration of a 10,000-event stream with and without snapshots;
 *  - a full replay of a demo log through its deciders in the sandbox, against a plain in-process fold.
 * Run: node tests/bench/run.js engine [--scale 0.2] [--only commands,rehydrate,replay]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommandBus, type DeciderHandle } from '../../main/cqrs/command-bus'
import type { CodeRunner } from '../../main/cqrs/runner'
import { Replayer } from '../../main/replay/replayer'
import { foldStreams } from '../../main/replay/fold-many'
import { readStreamEvents } from '../../main/replay/read-path'
import { Sandbox } from '../../main/sandbox/sandbox'
import { loadPlain } from './plain-module'
import { SqliteEventStore } from '../../main/store/sqlite-store'

const root = process.env.ESW_BENCH_ROOT ?? process.cwd()
const scaleArg = process.argv.indexOf('--scale')
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1
const onlyArg = process.argv.indexOf('--only')
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1].split(',')) : null
const runs = (part: string) => !only || only.has(part)
const templateDir = join(root, 'main', 'workspace', 'demo', 'template', 'domain')
const files = new Map(readdirSync(templateDir).filter((f) => f.endsWith('.ts')).map((f) => [`domain/${f}`, readFileSync(join(templateDir, f), 'utf8')]))

type Decider = {
  name: string
  streamPrefix: string
  commands: Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }>
  streamId?: (c: unknown) => string
  initialState(): unknown
  evolve(s: unknown, e: unknown): unknown
  decide(c: unknown, s: unknown): unknown
}

/** The demo deciders compiled for plain Node (no vm, no worker), `workbench` being the same runtime module. */
function loadPlainDeciders(): Map<string, Decider> {
  const out = new Map<string, Decider>()
  for (const [file, source] of files) out.set(file, loadPlain<Decider>(root, file, source))
  return out
}

/**
 * The dispatcher's decider operations, done by direct calls: the plain baseline of the same command bus. It keeps
 * folded state per stream as the dispatcher does (as JSON text, so decide cannot change what is kept), so a command
 * takes one call here as it takes one crossing there.
 */
function plainRunner(deciders: Map<string, Decider>): CodeRunner {
  const kept = new Map<string, { version: number; text: string }>()
  const keep = (key: string, version: number, text: string) => {
    kept.delete(key)
    kept.set(key, { version, text })
    if (kept.size > 5000) kept.delete(kept.keys().next().value!)
  }
  const validate = (d: Decider, c: { type: string; data: unknown }): { data: Record<string, unknown> } | { outcome: string } => {
    const schema = Object.hasOwn(d.commands, c.type) ? d.commands[c.type] : undefined
    if (!schema) return { outcome: 'unknown-command', commands: Object.keys(d.commands) } as { outcome: string }
    const parsed = schema.safeParse(c.data)
    if (!parsed.success) return { outcome: 'invalid', issues: parsed.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } as { outcome: string }
    return { data: parsed.data as Record<string, unknown> }
  }
  const decideOn = (d: Decider, c: { type: string; data: Record<string, unknown> }, state: unknown, streamId: string, version: number | null, keptState?: unknown) => {
    try {
      const decided = d.decide(c, state)
      const events = decided === undefined || decided === null ? [] : Array.isArray(decided) ? decided : [decided]
      return keptState === undefined ? { outcome: 'decided', streamId, version, events } : { outcome: 'decided', streamId, version, state: keptState, events }
    } catch (error) {
      if ((error as { name?: string }).name !== 'RuleViolation') throw error
      return { outcome: 'rejected', streamId, version, rule: (error as { rule: string }).rule, message: (error as Error).message }
    }
  }
  const streamOf = (d: Decider, c: { data: Record<string, unknown> }) => (d.streamId ? d.streamId(c) : `${d.streamPrefix}-${String(c.data.id)}`)
  return {
    call: async <T>(request: Record<string, unknown>) => {
      const d = deciders.get(request.file as string)!
      const command = request.command as { type: string; data: Record<string, unknown>; metadata: unknown }
      let result: unknown
      if (request.op === 'decider.command') {
        for (const a of (request.advances ?? []) as Array<{ file: string; exportName: string; streamId: string; fromVersion: number; events: unknown[] }>) {
          const key = `${a.file}#${a.exportName}#${a.streamId}`
          const entry = kept.get(key)
          if (!entry || entry.version !== a.fromVersion) {
            kept.delete(key)
            continue
          }
          const ad = deciders.get(a.file)!
          let state = JSON.parse(entry.text) as unknown
          for (const e of a.events) state = ad.evolve(state, e)
          keep(key, a.fromVersion + a.events.length, JSON.stringify(state ?? null))
        }
        const v = validate(d, command)
        if (!('data' in v)) result = v
        else {
          const c = { ...command, data: v.data }
          const streamId = streamOf(d, c)
          const key = `${request.file as string}#${request.exportName as string}#${streamId}`
          let entry = kept.get(key)
          if (!entry) {
            entry = { version: 0, text: JSON.stringify(d.initialState() ?? null) }
            keep(key, 0, entry.text)
          }
          result = decideOn(d, c, JSON.parse(entry.text), streamId, entry.version)
        }
      } else if (request.op === 'decider.handle') {
        const v = validate(d, command)
        if (!('data' in v)) result = v
        else {
          let state = request.state ?? d.initialState()
          for (const e of request.events as unknown[]) state = d.evolve(state, e)
          const c = { ...command, data: v.data }
          const streamId = streamOf(d, c)
          const text = JSON.stringify(state ?? null)
          if (typeof request.version === 'number') keep(`${request.file as string}#${request.exportName as string}#${streamId}`, request.version, text)
          result = decideOn(d, c, state, streamId, (request.version as number | undefined) ?? null, JSON.parse(text))
        }
      } else if (request.op === 'decider.fold') {
        let state = request.state ?? d.initialState()
        for (const e of request.events as unknown[]) state = d.evolve(state, e)
        result = { state: JSON.parse(JSON.stringify(state)), kept: {} }
      } else if (request.op === 'decider.initial') result = d.initialState()
      return { result: result as T, logs: [] }
    }
  }
}

async function describeDeciders(runner: Sandbox): Promise<DeciderHandle[]> {
  const out: DeciderHandle[] = []
  for (const file of files.keys()) {
    const { result } = await runner.call<Array<DeciderHandle & { kind: string }>>({ op: 'describe', file }, 'describe')
    for (const d of result) if (d.kind === 'decider') out.push({ ...d, file })
  }
  return out
}

/**
 * Carts: open, add three items, check out, per cart; the same list for every system. Each run names its carts apart
 * (`run`), so no run meets streams a runner kept state for in an earlier run against another store.
 */
function cartCommands(carts: number, run = 'bench') {
  const list: Array<{ decider: string; command: string; data: Record<string, unknown> }> = []
  for (let i = 0; i < carts; i++) {
    const cartId = `${run}-${i}`
    list.push({ decider: 'carts', command: 'OpenCart', data: { cartId, customerId: `c-${i % 97}` } })
    for (let k = 0; k < 3; k++) list.push({ decider: 'carts', command: 'AddItem', data: { cartId, sku: `sku-${(i + k) % 13}`, quantity: 1 + k, priceCents: 250 + k } })
    list.push({ decider: 'carts', command: 'CheckOut', data: { cartId, orderId: `o-${i}` } })
  }
  return list
}

async function timeCommands(bus: CommandBus, list: ReturnType<typeof cartCommands>, concurrency: number): Promise<number> {
  // Commands of one cart go in order; carts run side by side up to `concurrency`.
  const carts = new Map<string, typeof list>()
  for (const c of list) {
    const key = String(c.data.cartId)
    if (!carts.has(key)) carts.set(key, [])
    carts.get(key)!.push(c)
  }
  const queue = [...carts.values()]
  const started = process.hrtime.bigint()
  const worker = async () => {
    for (let cart = queue.shift(); cart; cart = queue.shift()) {
      for (const c of cart) {
        const outcome = await bus.send({ ...c, commandId: `${c.command}-${String(c.data.cartId)}-${String(c.data.sku ?? '')}` })
        if (outcome.outcome !== 'accepted') throw new Error(`${c.command} was ${outcome.outcome}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return list.length / (Number(process.hrtime.bigint() - started) / 1e9)
}

function freshStore(label: string) {
  const dir = mkdtempSync(join(tmpdir(), `esw-bench-${label}-`))
  return { dir, store: new SqliteEventStore(join(dir, 'events.db')) }
}

async function main() {
  const rows: string[] = []
  const plainDeciders = loadPlainDeciders()
  const plain = plainRunner(plainDeciders)
  // A long limit: the rehydration without snapshots folds thousands of events per call, slowly on a busy machine.
  const sandbox = new Sandbox({ timeoutMs: 60_000 })
  console.error('starting the sandbox')
  const reports = await sandbox.setFiles(files)
  const failed = reports.filter((r) => !r.ok)
  if (failed.length) throw new Error(`demo files did not load: ${failed.map((r) => `${r.file}: ${r.failure?.message}`).join('; ')}`)
  const handles = await describeDeciders(sandbox)
  console.error(`deciders: ${handles.map((h) => h.name).join(', ')}`)

  // ---- commands ---------------------------------------------------------------------------------------
  // The plain and the sandbox bus take turns in small batches (which goes first alternates), so both meet the same
  // load on a shared machine; the first tenth of the batches warms both up and is not counted.
  if (runs('commands')) {
    const carts = Math.max(100, Math.round(2000 * scale))
    for (const [title, concurrency, perBatch] of [
      ['one at a time', 1, 10],
      ['16 carts in flight', 16, 32]
    ] as const) {
      const systems = [
        { name: 'plain', runner: plain as CodeRunner, ...freshStore('cmd-plain'), seconds: 0, commands: 0, batchSeconds: [] as number[] },
        { name: 'sandbox', runner: sandbox as CodeRunner, ...freshStore('cmd-sandbox'), seconds: 0, commands: 0, batchSeconds: [] as number[] }
      ]
      const buses = systems.map((x) => new CommandBus(x.store, x.runner, handles))
      const batches = Math.ceil(carts / perBatch)
      const warmup = Math.ceil(batches / 10)
      const pairRatios: number[] = []
      for (let b = 0; b < warmup + batches; b++) {
        const seconds = [0, 0]
        for (const i of b % 2 === 0 ? [0, 1] : [1, 0]) {
          const list = cartCommands(perBatch, `${systems[i].name}-${concurrency}-${b}`)
          const rate = await timeCommands(buses[i], list, concurrency)
          seconds[i] = list.length / rate
          if (b >= warmup) {
            systems[i].seconds += seconds[i]
            systems[i].commands += list.length
            systems[i].batchSeconds.push(seconds[i])
          }
        }
        if (b >= warmup) pairRatios.push(seconds[0] / seconds[1])
      }
      for (const x of systems) {
        await x.store.close()
        rmSync(x.dir, { recursive: true, force: true })
      }
      const [p, q] = systems.map((x) => x.commands / x.seconds)
      const sorted = [...pairRatios].sort((a, b) => a - b)
      const at = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))].toFixed(2)
      // The fastest tenth of each system's batches: what each does when the machine leaves it alone.
      const [fp, fq] = systems.map((x) => {
        const fastest = [...x.batchSeconds].sort((a, b) => a - b).slice(0, Math.max(1, Math.floor(x.batchSeconds.length / 10)))
        return (fastest.length * (x.commands / x.batchSeconds.length)) / fastest.reduce((a, b) => a + b, 0)
      })
      console.log(`commands, ${title}: plain ${p.toFixed(0)}/s, sandbox ${q.toFixed(0)}/s (${systems[0].commands} commands each, in ${batches} batches): ${(q / p).toFixed(2)}×; batch pairs: median ${at(0.5)}×, middle half ${at(0.25)}–${at(0.75)}×; fastest tenth of batches: plain ${fp.toFixed(0)}/s, sandbox ${fq.toFixed(0)}/s, ${(fq / fp).toFixed(2)}×`)
      rows.push(`| Commands through the full path, ${title} | ${q.toFixed(0)}/s | ${p.toFixed(0)}/s | ${(q / p).toFixed(2)}× (batch pairs ${at(0.25)}–${at(0.75)}×) | ≥ 0.5× |`)
    }
  }

  // ---- rehydration with and without snapshots ---------------------------------------------------------
  if (runs('rehydrate')) {
    const { dir: rdir, store: rstore } = freshStore('rehydrate')
    const streamLength = Math.max(1000, Math.round(10_000 * scale))
    const stock = Array.from({ length: streamLength }, (_, i) =>
      i === 0 ? { type: 'StockReceived', data: { sku: 'sku-1', quantity: 1_000_000 } } : { type: 'StockReserved', data: { sku: 'sku-1', orderId: `o-${i}`, quantity: 1 } }
    )
    for (let i = 0; i < stock.length; i += 500) await rstore.appendToStream('inventory-sku-1', stock.slice(i, i + 500))
    const replayer = new Replayer({ store: rstore, runner: sandbox, deciders: () => handles, source: (f) => files.get(f) ?? '' })
    const coldRuns: number[] = []
    for (let i = 0; i < 3; i++) {
      const t = process.hrtime.bigint()
      await replayer.stateAt('inventory-sku-1', { useSnapshots: false })
      coldRuns.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    await replayer.stateAt('inventory-sku-1') // takes the snapshots
    const warmRuns: number[] = []
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint()
      const r = await replayer.stateAt('inventory-sku-1')
      warmRuns.push(Number(process.hrtime.bigint() - t) / 1e6)
      if (r.snapshotVersion === null) throw new Error('no snapshot was used')
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const cold = median(coldRuns)
    const warm = median(warmRuns)
    console.log(`rehydrate ${streamLength}-event stream: without snapshots ${cold.toFixed(1)} ms, with snapshots ${warm.toFixed(2)} ms (${(cold / warm).toFixed(0)}× faster)`)
    rows.push(`| Rehydrate a ${streamLength.toLocaleString('en')}-event stream: with snapshots vs without | ${warm.toFixed(2)} ms | ${cold.toFixed(1)} ms | ${(cold / warm).toFixed(0)}× faster | ≥ 20× faster |`)
    await rstore.close()
    rmSync(rdir, { recursive: true, force: true })
  }

  // ---- full replay of a demo-like log -------------------------------------------------------------------
  if (runs('replay')) {
    const { dir: ldir, store: lstore } = freshStore('replay')
    const logBus = new CommandBus(lstore, plain, handles)
    await timeCommands(logBus, cartCommands(Math.max(200, Math.round(8000 * scale))), 1)
    const streams = (await lstore.listStreams({ limit: 1000 })).total
    const all: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await lstore.listStreams({ after, limit: 1000 })
      all.push(...page.streams.map((s) => s.streamId))
      if (!page.next) break
      after = page.next
    }
    const cartsHandle = handles.find((h) => h.name === 'carts')!
    const plainCarts = plainDeciders.get(cartsHandle.file)!
    // Both read the events from the store and fold them; the sandbox gets them as JSON text in large batches.
    const plainReplay = () => {
      const t = process.hrtime.bigint()
      for (const id of all) {
        let state = plainCarts.initialState()
        for (const e of readStreamEvents(lstore, id)) state = plainCarts.evolve(state, e)
        if (state === undefined) throw new Error(`no state for ${id}`)
      }
      return Number(process.hrtime.bigint() - t) / 1e9
    }
    const sandboxReplay = async () => {
      const t = process.hrtime.bigint()
      await foldStreams(lstore, sandbox, cartsHandle, all, undefined, { states: false })
      return Number(process.hrtime.bigint() - t) / 1e9
    }
    const totalEvents = all.reduce((n, id) => n + lstore.readStreamSync(id, { limit: 1 }).version, 0)
    const plainSeconds = Math.min(plainReplay(), plainReplay(), plainReplay())
    const sandboxSeconds = Math.min(await sandboxReplay(), await sandboxReplay(), await sandboxReplay())
    const plainFold = totalEvents / plainSeconds
    const sandboxFold = totalEvents / sandboxSeconds
    console.log(`full replay of ${totalEvents} events in ${streams} streams: plain ${plainFold.toFixed(0)} events/s, sandbox ${sandboxFold.toFixed(0)} events/s (${(sandboxFold / plainFold).toFixed(2)}×)`)
    rows.push(`| Full replay of ${totalEvents.toLocaleString('en')} events (${streams.toLocaleString('en')} streams) through the deciders, read from the store | ${sandboxFold.toFixed(0)} events/s | ${plainFold.toFixed(0)} events/s | ${(sandboxFold / plainFold).toFixed(2)}× | ≥ 0.5× |`)
    await lstore.close()
    rmSync(ldir, { recursive: true, force: true })
  }

  await sandbox.close()

  console.log('\n| measure | sandbox (ours) | plain Node | ratio | target |\n|---|---|---|---|---|')
  console.log(rows.join('\n'))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
