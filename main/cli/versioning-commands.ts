import { parseArgs } from 'node:util'
import { SchemaInference } from '../versioning/schemas'
import { UsageError, writeOut } from './output'
import { openCliStore } from './workspace-store'

const usage = 'usage: esw schemas <dir> [--type T] [--drift [--buckets N]]'

/**
 * esw schemas <dir> [--type T]: the inferred data shapes per event type and schema version, as JSON, after bringing
 * the inference up to the head of the log (progress on stderr); with --drift, the mix of versions of one type over time.
 */
export async function schemas(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { type: { type: 'string' }, drift: { type: 'boolean', default: false }, buckets: { type: 'string' } }
  })
  const [dir] = positionals
  if (!dir || positionals.length > 1) throw new UsageError(usage)
  if (values.drift && !values.type) throw new UsageError('--drift needs --type T: the event type whose versions to chart')
  const buckets = values.buckets === undefined ? 60 : Number(values.buckets)
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1000) throw new UsageError(`--buckets must be a whole number from 1 to 1000, got '${values.buckets}'`)
  const store = await openCliStore(dir)
  try {
    const inference = new SchemaInference(store, { pageSize: 5000 })
    let shown = Date.now()
    inference.catchUpSync({
      onProgress: (position, head) => {
        if (Date.now() - shown < 1000) return
        shown = Date.now()
        process.stderr.write(`inferring schemas: position ${position} of ${head}\n`)
      }
    })
    const result = values.drift ? inference.drift(values.type!, buckets) : inference.list(values.type)
    await writeOut(JSON.stringify(result, null, 2) + '\n')
  } finally {
    await store.close()
  }
}
