import { parseArgs } from 'node:util'
import { sagaStatus } from '../../shared/contract/sagas'
import { RpcError } from '../../shared/rpc/errors'
import { checkSagas } from '../sagas/coordinator'
import { foldInstance, summary } from '../sagas/state'
import { SandboxContext } from '../sandbox/context'
import { sandboxPrelude } from '../sandbox/prelude'
import { userCodeError } from '../sandbox/sandbox'
import type { SagaDescriptor } from '../../shared/contract/sagas'
import { trustedWorkspace } from './upcasting-commands'
import { UsageError, writeOut } from './output'
import { openCliStore } from './workspace-store'

/** esw sagas <dir> [--status S] [--saga NAME]: saga instances as JSON lines, read from their saga streams. */
export async function sagas(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { status: { type: 'string' }, saga: { type: 'string' } } })
  if (positionals.length !== 1) throw new UsageError('usage: esw sagas <dir> [--status running|completed|compensating|compensated|parked] [--saga NAME]')
  const status = values.status === undefined ? undefined : sagaStatus.safeParse(values.status)
  if (status && !status.success) throw new UsageError(`--status must be one of ${sagaStatus.options.join(', ')}, not '${values.status}'`)
  const store = await openCliStore(positionals[0])
  try {
    const ids = store.db.prepare<[], { stream_id: string }>("SELECT stream_id FROM streams WHERE category = 'saga' ORDER BY created_at, stream_id").all()
    let out = ''
    for (const { stream_id } of ids) {
      const state = foldInstance(store.readStreamSync(stream_id, { limit: 10_000 }).events, [])
      if (!state || (values.saga && state.saga !== values.saga) || (status && state.status !== status.data)) continue
      out += JSON.stringify(summary(state)) + '\n'
    }
    await writeOut(out)
  } finally {
    await store.close()
  }
}

/** esw saga <dir> <instance>: the timeline of one instance (its saga stream) as NDJSON. */
export async function saga(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  if (positionals.length !== 2) throw new UsageError('usage: esw saga <dir> <instance> (the saga stream id, saga-<name>-<id>, or the instance id)')
  const store = await openCliStore(positionals[0])
  try {
    const wanted = positionals[1]
    let streamId = wanted
    if (!wanted.startsWith('saga-')) {
      const found = store.db.prepare<[string], { stream_id: string }>("SELECT stream_id FROM streams WHERE category = 'saga' AND stream_id LIKE '%-' || ?").all(wanted)
      if (found.length > 1) throw new UsageError(`${wanted} names instances of several sagas: ${found.map((f) => f.stream_id).join(', ')}`)
      streamId = found[0]?.stream_id ?? `saga-${wanted}`
    }
    const events = store.readStreamSync(streamId, { limit: 10_000 }).events
    if (!events.length) throw new RpcError('NotFound', `No saga instance ${wanted}`)
    await writeOut(events.map((e) => JSON.stringify(e) + '\n').join(''))
  } finally {
    await store.close()
  }
}

/** esw saga-check <dir>: definition checks of the sagas (a step that can be neither undone nor is the point of no return). */
export async function sagaCheck(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  if (positionals.length !== 1) throw new UsageError('usage: esw saga-check <dir>')
  const ws = trustedWorkspace(positionals[0], 'Checking sagas')
  const context = new SandboxContext(sandboxPrelude())
  const descriptors: SagaDescriptor[] = []
  for (const [file, source] of ws.files.filter(([f]) => f.startsWith('sagas/'))) {
    const loaded = context.load(file, source)
    if (!loaded.ok) throw userCodeError(loaded.failure, `loading ${file}`)
    const answer = context.call(JSON.stringify({ op: 'saga.describe', file }))
    if (!answer.ok) throw userCodeError(answer.failure, `describing ${file}`)
    for (const d of JSON.parse(answer.result) as Array<Omit<SagaDescriptor, 'file'>>) descriptors.push({ ...d, file })
  }
  const problems = checkSagas(descriptors)
  await writeOut(JSON.stringify({ sagas: descriptors.map((d) => d.name), problems }, null, 2) + '\n')
  if (problems.length) throw new RpcError('Conflict', `${problems.length} saga problem${problems.length === 1 ? '' : 's'}: ${problems[0].message}`)
}
