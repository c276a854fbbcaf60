import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { RpcError } from '../../shared/rpc/errors'
import { sandboxPrelude } from '../sandbox/prelude'
import type { WorkProgress } from '../store/ndjson'
import { dryRunJob } from '../versioning/dry-run'
import { migrateJob } from '../versioning/migrate'
import { listDefinitionFiles } from '../workspace/definition-files'
import { workspacePaths } from '../workspace/location'
import { TrustRegistry } from '../workspace/trust'
import { UsageError, writeOut } from './output'
import { syncWorkingCopy } from './workspace-store'

/** A workspace folder whose code may run: its database file and definition files. */
export function trustedWorkspace(dir: string | undefined, action: string): { dir: string; database: string; files: Array<[string, string]> } {
  if (!dir) throw new UsageError('missing <dir>: the workspace folder')
  const path = resolve(dir)
  const paths = workspacePaths(path)
  if (!existsSync(paths.database)) throw new Error(`${path} is not a workspace (no events.db); create one with \`esw init ${dir}\``)
  if (!new TrustRegistry().isTrusted(path)) {
    throw new RpcError('Untrusted', `${action} runs this workspace's code, and ${path} is not trusted yet: \`esw trust ${dir}\` first`)
  }
  return { dir: path, database: paths.database, files: listDefinitionFiles(path).map((f) => [f.path, f.source]) }
}

/** Progress on stderr, at most twice a second. */
function stderrProgress(what: string): WorkProgress {
  let shown = 0
  return {
    onProgress: (done, total) => {
      if (Date.now() - shown < 500) return
      shown = Date.now()
      process.stderr.write(`${what}: ${done}${total ? ` of ${total}` : ''}\n`)
    }
  }
}

/** esw dry-run <dir> [--type T]...: the upcasters over every stored event of their types; exit code 1 when any fails. */
export async function dryRun(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { type: { type: 'string', multiple: true } } })
  if (positionals.length !== 1) throw new UsageError('usage: esw dry-run <dir> [--type T]...')
  const ws = trustedWorkspace(positionals[0], 'A dry-run')
  await syncWorkingCopy(ws.dir)
  const report = await dryRunJob({ dbFile: ws.database, prelude: sandboxPrelude(), files: ws.files, types: values.type }, stderrProgress('dry-run: position'))
  await writeOut(JSON.stringify(report, null, 2) + '\n')
  const failed = report.counts.reduce((n, c) => n + c.failed, 0)
  if (failed > 0 || report.problems.length > 0) {
    throw new RpcError('UserCodeFailed', `${failed} event${failed === 1 ? '' : 's'} failed to upcast${report.problems.length ? `; ${report.problems.length} refused chain(s): ${report.problems[0].message}` : ''}`)
  }
}

/** esw migrate <dir> <new-dir>: copy-and-transform into a new workspace, verified; exit code 1 when verification fails. */
export async function migrate(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true })
  if (positionals.length !== 2) throw new UsageError('usage: esw migrate <dir> <new-dir>')
  const ws = trustedWorkspace(positionals[0], 'A migration')
  const target = resolve(positionals[1])
  await syncWorkingCopy(ws.dir)
  const report = await migrateJob({ dbFile: ws.database, dir: ws.dir, target, prelude: sandboxPrelude(), files: ws.files }, stderrProgress('migrate: step'))
  await writeOut(JSON.stringify(report, null, 2) + '\n')
  if (!report.verified) throw new RpcError('Conflict', `The migration into ${target} did not pass verification (kept there for a look; the old workspace is unchanged)`)
  // Made here from a trusted workspace.
  new TrustRegistry().trust(target)
}
