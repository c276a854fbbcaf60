import { APP_NAME, APP_VERSION } from '../app-info'
import { describeFailure, UsageError } from './output'
import * as store from './store-commands'
import * as copyCommand from './copy-command'
import * as sagaCommands from './saga-commands'
import * as upcasting from './upcasting-commands'
import * as versioning from './versioning-commands'
import * as workspace from './workspace-commands'

const usage = `${APP_NAME} ${APP_VERSION} — command line

Usage: esw <command> [options]

Workspaces and the event store:
  init <dir> [--postgres URL [--schema S]]    create a workspace folder (workbench.json, events.db); with
                                              --postgres postgres://user@host:port/db its log lives in PostgreSQL
                                              and events.db is its working copy (the password in ESW_PG_PASSWORD)
  append <dir> <stream> [--expected-version any|no-stream|exists|N]
                                              append events given as NDJSON on stdin ({"type","data","metadata"?,"id"?})
  read <dir> <stream> [--from N] [--backwards] [--limit N]
                                              print a stream's events as NDJSON
  export <dir> [--stream S] [--category C] [--type T]... [--from-position P] [--to-position P] [--out FILE] [--upcast]
                                              export events as NDJSON (stdout unless --out); --upcast: as read
                                              through the workspace's upcasters
  import <dir> [FILE]                         import NDJSON (stdin unless FILE); all or nothing
  streams <dir> [--category C] [--contains TEXT] [--type T] [--include-deleted]
                                              list streams as NDJSON
  stats <dir>                                 counts of events, streams, categories and types
  copy <from> <to>                            copy a whole log into an empty store, verified; each a workspace folder
                                              (SQLite) or postgres://user@host:port/db[?schema=S] (the password in
                                              ESW_PG_PASSWORD, never in the URL)

The command side:
  command <dir> <decider> <command> '<json>' [--idempotency-key K] [--correlation-id C]
                                              send a command through its decider; prints the outcome
  trust <dir>                                 let a workspace's code run (one made elsewhere runs none until then)
  demo <dir> [--events N]                     create the demo shop, its log generated through its deciders

Replay:
  replay <dir> <stream> [--at-version N | --at-position P | --at-time ISO] [--steps] [--decider NAME]
                                              the state of a stream as JSON; --steps prints each event with the
                                              state before and after it and the field changes, as NDJSON

Projections and queries:
  projections <dir>                           status, position and lag of each projection (NDJSON)
  project <dir> <projection> [--rebuild]      run a projection up to the head, or rebuild it; progress on stderr
  query <dir> <projection> <query> ['<json>'] a named query's rows as NDJSON; the lag on stderr
  check <dir> <projection> --determinism|--idempotency
                                              exit code 0 when the check passes, the first offending event otherwise

Event versioning:
  schemas <dir> [--type T]                    the data shapes inferred per event type and schema version (JSON):
                                              fields, types, optional fields, examples, counts
  schemas <dir> --type T --drift [--buckets N]
                                              the mix of T's schema versions over time, in at most N buckets of days
  dry-run <dir> [--type T]...                 run the upcasters over every stored event of their types: counts,
                                              failures, samples (JSON); exit code 1 when any event fails
  migrate <dir> <new-dir>                     copy-and-transform into a new workspace with every event upcast,
                                              verified (counts per stream, projections rebuilt on both); exit code
                                              1 when verification fails

Sagas:
  sagas <dir> [--status S] [--saga NAME]      saga instances with their status, as JSON lines
  saga <dir> <instance>                       one instance's timeline (its saga stream) as NDJSON
  saga-check <dir>                            definition checks, such as a step without compensation; exit code 1
                                              when any is found

  --help, --version

Errors go to stderr with exit code 1 (2 for a usage error); stdout carries only data.
`

const commands: Record<string, (args: string[]) => Promise<void>> = {
  init: store.init,
  append: store.append,
  read: store.read,
  export: store.exportCommand,
  import: store.importCommand,
  streams: store.streams,
  stats: store.stats,
  copy: copyCommand.copy,
  command: workspace.command,
  trust: workspace.trust,
  demo: workspace.demo,
  replay: workspace.replay,
  projections: workspace.projections,
  project: workspace.project,
  query: workspace.query,
  check: workspace.check,
  schemas: versioning.schemas,
  'dry-run': upcasting.dryRun,
  migrate: upcasting.migrate,
  sagas: sagaCommands.sagas,
  saga: sagaCommands.saga,
  'saga-check': sagaCommands.sagaCheck
}

// The `esw` command line over the same engine the app uses.
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === 'help' || command === '-h') {
    process.stdout.write(usage)
    return 0
  }
  if (command === '--version') {
    process.stdout.write(`${APP_VERSION}\n`)
    return 0
  }
  const run = Object.hasOwn(commands, command) ? commands[command] : undefined
  try {
    if (!run) throw new UsageError(`unknown command '${command}'. Run \`esw --help\` for the list.`)
    await run(rest)
    return 0
  } catch (error) {
    const failure = describeFailure(error)
    process.stderr.write(`esw ${command}: ${failure.message}\n`)
    return failure.code
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
