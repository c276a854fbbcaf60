import type { BlameEntry, EventRef, FieldChange } from '../../shared/contract'

// What the JSON tree shows at each node: the value, the change the current event made there, the event that set it.

export type PathSegment = string | number
export type FieldPath = PathSegment[]
export type ChangeKind = FieldChange['kind']

/** One key for a path; `1` (an array index) and `"1"` (an object key) stay apart. */
export function pathKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path)
}

/** `items["sku-1"].quantity`, `lines[0]`: a path as a person reads it. */
export function pathLabel(path: readonly PathSegment[]): string {
  if (path.length === 0) return '(state)'
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}

export function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null
}

/** The changes of one event, found by path, with the paths that have a change somewhere below them. */
export interface ChangeIndex {
  at: Map<string, FieldChange>
  above: Set<string>
}

export function indexChanges(changes: readonly FieldChange[]): ChangeIndex {
  const at = new Map<string, FieldChange>()
  const above = new Set<string>()
  for (const change of changes) {
    at.set(pathKey(change.path), change)
    for (let n = 0; n < change.path.length; n++) above.add(pathKey(change.path.slice(0, n)))
  }
  return { at, above }
}

/** How a node shows: its own change, or an added or removed ancestor's (everything under a new object is new). */
export function changeAt(index: ChangeIndex, path: readonly PathSegment[]): FieldChange | null {
  const own = index.at.get(pathKey(path))
  if (own) return own
  for (let n = path.length - 1; n >= 0; n--) {
    const ancestor = index.at.get(pathKey(path.slice(0, n)))
    if (ancestor && ancestor.kind !== 'changed') return ancestor
    // A changed ancestor replaced a leaf with a container (or back): what is below it is new.
    if (ancestor) return isContainer(ancestor.after) ? { kind: 'added', path: [...path] } : null
  }
  return null
}

export function hasChangeBelow(index: ChangeIndex, path: readonly PathSegment[]): boolean {
  return index.above.has(pathKey(path))
}

/** A child of a container node: present in the value, or removed by the current event (shown struck through). */
export interface TreeEntry {
  key: PathSegment
  path: FieldPath
  value: unknown
  removed: boolean
}

/** The children of a container, with the ones the current event removed put back where they were. */
export function entriesOf(value: unknown, path: readonly PathSegment[], index: ChangeIndex): TreeEntry[] {
  if (!isContainer(value)) return []
  const entries: TreeEntry[] = Array.isArray(value)
    ? value.map((v, i) => ({ key: i, path: [...path, i], value: v, removed: false }))
    : Object.entries(value).map(([k, v]) => ({ key: k, path: [...path, k], value: v, removed: false }))
  const present = new Set(entries.map((e) => pathKey(e.path)))
  for (const change of index.at.values()) {
    if (change.kind !== 'removed' || change.path.length !== path.length + 1) continue
    if (pathKey(change.path.slice(0, -1)) !== pathKey(path) || present.has(pathKey(change.path))) continue
    entries.push({ key: change.path[change.path.length - 1], path: [...change.path], value: change.before, removed: true })
  }
  // Removed array items go back to their index; removed object keys follow the kept ones.
  if (Array.isArray(value)) entries.sort((a, b) => Number(a.key) - Number(b.key) || Number(a.removed) - Number(b.removed))
  return entries
}

/** `{3}` or `[2]`: a folded container, by its size. */
export function containerSummary(value: Record<string, unknown> | unknown[]): string {
  if (Array.isArray(value)) return value.length === 1 ? '[1 item]' : `[${value.length} items]`
  const n = Object.keys(value).length
  return n === 1 ? '{1 key}' : `{${n} keys}`
}

/** A value on one line, shortened: for leaves and for the old value of a change. */
export function inlineValue(value: unknown, max = 80): string {
  if (value === undefined) return 'undefined'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** For each field of the state, the event that last set it. */
export type BlameIndex = Map<string, BlameEntry>

export function indexBlame(fields: readonly BlameEntry[]): BlameIndex {
  return new Map(fields.map((f) => [pathKey(f.path), f]))
}

/**
 * The event behind a node: for a field, the event that set it; for an object or array, the newest event that set
 * anything in it. Null when no event did (the value came from initialState) or the path is unknown.
 */
export function blameOf(index: BlameIndex, path: readonly PathSegment[]): EventRef | null {
  const own = index.get(pathKey(path))
  if (own) return own.event
  const prefix = pathKey(path).slice(0, -1)
  let newest: EventRef | null = null
  for (const [key, entry] of index) {
    const below = path.length === 0 ? key !== '[]' : key.startsWith(`${prefix},`)
    if (below && entry.event && (!newest || entry.event.version > newest.version)) newest = entry.event
  }
  return newest
}

/** JSON with the keys of every object sorted, two-space indented: two states compare line by line. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) ?? 'undefined'
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (!isContainer(value)) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])])
  )
}
