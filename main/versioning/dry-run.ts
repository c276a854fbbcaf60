import type { DryRunReport, UpcasterRegistry } from '../../shared/contract/upcasting'
import type { InferredShape } from '../../shared/contract/versioning'
import type { RecordedEvent } from '../../shared/model/events'
import { RpcError } from '../../shared/rpc/errors'
import type { WorkProgress } from '../store/ndjson'
import { SqliteEventStore } from '../store/sqlite-store'
import type { ExpectedShape } from './upcast-runtime'
import { callContext, rowEventJson, upcasterContext } from './as-read'
import { SchemaInference } from './schemas'

export interface DryRunTask {
  dbFile: string
  prelude: string
  /** The workspace's definition files (only upcasters/ are loaded). */
  files: Array<[string, string]>
  /** Only these stored types (default: every type an upcaster reads). */
  types?: string[]
}

const BATCH = 2000
const MAX_FAILURES = 50
const MAX_SAMPLES = 20

/** The top-level fields of an inferred shape, as the dry-run compares results with it. */
export function expectedFields(shape: InferredShape, schemaVersion: number): ExpectedShape {
  const fields: ExpectedShape['fields'] = {}
  for (const f of shape.fields ?? []) {
    fields[f.name] = { types: Object.entries(f.shape.types).filter(([, n]) => (n ?? 0) > 0).map(([t]) => t), required: !f.optional }
  }
  return { schemaVersion, fields }
}

type RawReport = {
  counts: DryRunReport['counts']
  failures: Array<{ event: RecordedEvent; message: string; stack: string }>
  samples: Array<{ key: string; before: RecordedEvent; after: RecordedEvent[] }>
  mismatches: Array<{ event: RecordedEvent; after: RecordedEvent; reasons: string[] }>
}

/**
 * Runs the workspace's upcasters over every stored event of the types they read, in a job thread: counts per
 * stored (type, version), the first failures placed in the user's code, samples of before/after, and the results
 * that do not look like the newest version of their type in the log (from schema inference).
 */
export async function dryRunJob(task: DryRunTask, progress: WorkProgress): Promise<DryRunReport> {
  const started = Date.now()
  const store = new SqliteEventStore(task.dbFile)
  try {
    const context = upcasterContext(task.prelude, task.files, progress.watch)
    const registry = callContext<UpcasterRegistry>(context, '{"op":"upcast.registry"}', 'checking the upcasters')
    const types = task.types ?? [...new Set(registry.steps.map((s) => s.eventType))]
    // The newest stored version of every type, as inferred from the log.
    const inference = new SchemaInference(store)
    inference.catchUpSync()
    const newestByType = new Map<string, { schemaVersion: number; shape: InferredShape }>()
    for (const s of inference.list()) {
      const known = newestByType.get(s.type)
      if (!known || s.schemaVersion > known.schemaVersion) newestByType.set(s.type, { schemaVersion: s.schemaVersion, shape: s.shape })
    }
    const expected: Record<string, ExpectedShape> = {}
    for (const [type, n] of newestByType) expected[type] = expectedFields(n.shape, n.schemaVersion)

    const counts = new Map<string, DryRunReport['counts'][number]>()
    const failures: DryRunReport['failures'] = []
    const samples: DryRunReport['samples'] = []
    const sampled = new Map<string, number>()
    const mismatches: DryRunReport['mismatches'] = []
    const head = store.head()
    let events = 0
    let from: number | null = types.length ? 1 : null
    const expectedJson = JSON.stringify(expected)
    while (from !== null) {
      if (progress.isCancelled?.()) throw new RpcError('Cancelled', 'The dry-run was cancelled')
      const page = store.readAllRawSync({ from, limit: BATCH, filter: { types, toPosition: head } })
      if (page.rows.length) {
        events += page.rows.length
        const raw = callContext<RawReport>(
          context,
          `{"op":"upcast.dryRun","samples":${MAX_SAMPLES},"failures":${MAX_FAILURES},"expected":${expectedJson},"events":[${page.rows.map(rowEventJson).join(',')}]}`,
          'the dry-run'
        )
        for (const c of raw.counts) {
          const key = `${c.type}@${c.schemaVersion}`
          const total = counts.get(key)
          if (!total) counts.set(key, { ...c })
          else for (const k of ['transformed', 'unchanged', 'failed', 'mismatched'] as const) total[k] += c[k]
        }
        for (const f of raw.failures) {
          if (failures.length >= MAX_FAILURES) break
          const at = context.locate(f.stack)
          failures.push({ position: f.event.position, streamId: f.event.streamId, type: f.event.type, schemaVersion: f.event.schemaVersion, message: f.message, file: at?.file ?? null, line: at?.line ?? null, column: at?.column ?? null, data: f.event.data })
        }
        for (const s of raw.samples) {
          if ((sampled.get(s.key) ?? 0) >= 3 || samples.length >= MAX_SAMPLES) continue
          sampled.set(s.key, (sampled.get(s.key) ?? 0) + 1)
          samples.push({ before: s.before, after: s.after })
        }
        for (const m of raw.mismatches) if (mismatches.length < MAX_FAILURES) mismatches.push({ before: m.event, after: m.after, reasons: m.reasons })
      }
      from = page.next
      progress.onProgress?.(from === null ? head : from - 1, head)
    }
    const list = [...counts.values()].sort((a, b) => (a.type === b.type ? a.schemaVersion - b.schemaVersion : a.type < b.type ? -1 : 1))
    const failed = list.some((c) => c.failed > 0)
    const mismatched = list.some((c) => c.mismatched > 0)
    return {
      events,
      durationMs: Date.now() - started,
      problems: registry.problems,
      counts: list,
      failures,
      samples,
      mismatches,
      // The types upcasters write (renames write the new name).
      newest: [...newestByType.entries()].filter(([type]) => registry.steps.some((s) => (s.toType ?? s.eventType) === type)).map(([type, n]) => ({ type, schemaVersion: n.schemaVersion })),
      ok: !failed && !mismatched && registry.problems.length === 0
    }
  } finally {
    await store.close()
  }
}
