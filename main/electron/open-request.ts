import { statSync } from 'node:fs'
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path'

/** What a path given to the app (command line, second launch, file association, drop) asks it to do. */
export type OpenRequest =
  | { kind: 'workspace'; dir: string }
  | { kind: 'events'; file: string }
  | { kind: 'unsupported'; path: string; reason: string }

/** Extensions of event logs the workbench imports (one JSON event per line). */
export const EVENT_LOG_EXTENSIONS = ['.ndjson', '.jsonl']

/** Files that sit inside a workspace folder: opening one opens its folder. */
const WORKSPACE_FILES = new Set(['workbench.json', 'events.db'])

export interface ArgvOptions {
  /** True when run as `electron <app path> ...` (development, tests): the first plain argument is the app. */
  defaultApp: boolean
  /** The folder relative paths are resolved against (the launching shell's). */
  cwd: string
}

/** Options of our own that take a value as the next argument; the value is not a path. */
const OPTIONS_WITH_VALUE = new Set(['--demo-events'])

/**
 * The paths on a command line, absolute. Skips the executable, the app folder in development, switches
 * (`--inspect=0`, Chromium's `--original-process-start-time=...`, macOS's `-psn_0_1234`) and our options' values.
 */
export function pathsFromArgv(argv: readonly string[], options: ArgvOptions): string[] {
  const paths: string[] = []
  let skipApp = options.defaultApp
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') continue
    if (arg.startsWith('-')) {
      if (OPTIONS_WITH_VALUE.has(arg)) i++
      continue
    }
    if (skipApp) {
      skipApp = false
      continue
    }
    paths.push(isAbsolute(arg) ? arg : resolve(options.cwd, arg))
  }
  return paths
}

/** The value of `--name value` or `--name=value`, when given. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1]
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1)
  }
  return undefined
}

type Stat = { isDirectory(): boolean; isFile(): boolean } | undefined

const statOf = (path: string): Stat => {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

/** Decides what opening a path means: a folder is a workspace, an event log is imported, anything else is refused. */
export function classifyPath(path: string, stat: (path: string) => Stat = statOf): OpenRequest {
  const found = stat(path)
  if (!found) return { kind: 'unsupported', path, reason: `${path} does not exist` }
  if (found.isDirectory()) return { kind: 'workspace', dir: path }
  if (!found.isFile()) return { kind: 'unsupported', path, reason: `${path} is neither a folder nor a file` }
  if (WORKSPACE_FILES.has(basename(path))) return { kind: 'workspace', dir: dirname(path) }
  if (EVENT_LOG_EXTENSIONS.includes(extname(path).toLowerCase())) return { kind: 'events', file: path }
  return {
    kind: 'unsupported',
    path,
    reason: `${basename(path)} is not an event log (${EVENT_LOG_EXTENSIONS.join(' or ')}) nor a workspace folder`
  }
}

/** The local path of a `file:` URL (a file or folder dropped on the window navigates there), or null. */
export function pathFromFileUrl(url: string, platform: NodeJS.Platform = process.platform): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.protocol !== 'file:') return null
  let path = decodeURIComponent(parsed.pathname)
  if (platform === 'win32') {
    // file:///C:/x -> C:\x ; file://server/share/x -> \\server\share\x
    path = parsed.host ? `\\\\${parsed.host}${path.replace(/\//g, '\\')}` : path.replace(/^\/([A-Za-z]:)/, '$1').replace(/\//g, '\\')
  }
  // A dropped folder arrives with a trailing slash.
  if (path.length > 1 && /[\\/]$/.test(path) && !/^[A-Za-z]:\\$/.test(path)) path = path.slice(0, -1)
  return path
}

/**
 * The requests of a launch, in order, with the last workspace winning: `event-workbench shop/ log.ndjson` opens
 * shop/ and then offers to import log.ndjson into it.
 */
export function openRequests(paths: readonly string[], stat?: (path: string) => Stat): OpenRequest[] {
  const requests = paths.map((p) => classifyPath(p, stat))
  const workspaces = requests.filter((r) => r.kind === 'workspace')
  const lastWorkspace = workspaces[workspaces.length - 1]
  return [...(lastWorkspace ? [lastWorkspace] : []), ...requests.filter((r) => r.kind !== 'workspace')]
}
