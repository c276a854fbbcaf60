import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** Where and how big the window was, and the workspace that was open: what the next start restores. */
export interface DesktopState {
  window: { bounds: Rect | null; maximized: boolean; fullScreen: boolean }
  lastWorkspace: string | null
}

export const DEFAULT_SIZE = { width: 1400, height: 900 }
export const MIN_SIZE = { width: 800, height: 560 }
/** How much of the window must stay on a screen to be reachable (its title bar, in practice). */
const MIN_VISIBLE = { width: 120, height: 60 }

export const emptyDesktopState = (): DesktopState => ({ window: { bounds: null, maximized: false, fullScreen: false }, lastWorkspace: null })

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

function parseRect(value: unknown): Rect | null {
  const r = value as Partial<Rect> | null
  if (!r || typeof r !== 'object') return null
  if (![r.x, r.y, r.width, r.height].every(isFiniteNumber)) return null
  if (r.width! <= 0 || r.height! <= 0) return null
  return { x: Math.round(r.x!), y: Math.round(r.y!), width: Math.round(r.width!), height: Math.round(r.height!) }
}

/** Reads the saved state; a missing, unreadable or malformed file gives the defaults, never an error. */
export function loadDesktopState(file: string): DesktopState {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return emptyDesktopState()
  }
  const state = raw as { window?: { bounds?: unknown; maximized?: unknown; fullScreen?: unknown }; lastWorkspace?: unknown }
  return {
    window: {
      bounds: parseRect(state?.window?.bounds),
      maximized: state?.window?.maximized === true,
      fullScreen: state?.window?.fullScreen === true
    },
    lastWorkspace: typeof state?.lastWorkspace === 'string' && state.lastWorkspace ? state.lastWorkspace : null
  }
}

/** Writes the state through a temporary file, so a crash mid-write leaves the previous state. */
export function saveDesktopState(file: string, state: DesktopState): void {
  mkdirSync(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(state, null, 2) + '\n')
  renameSync(temp, file)
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)),
    height: Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y))
  }
}

function centred(size: { width: number; height: number }, area: Rect): Rect {
  const width = Math.min(size.width, area.width)
  const height = Math.min(size.height, area.height)
  return { x: area.x + Math.round((area.width - width) / 2), y: area.y + Math.round((area.height - height) / 2), width, height }
}

/**
 * Puts saved bounds back on today's screens: kept as they were when enough of the window shows on one screen
 * (shrunk to fit it), otherwise centred on the primary screen — a monitor may have been unplugged since.
 * `workAreas[0]` is the primary screen.
 */
export function fitToScreens(saved: Rect | null, workAreas: readonly Rect[]): Rect {
  const primary = workAreas[0] ?? { x: 0, y: 0, ...DEFAULT_SIZE }
  if (!saved) return centred(DEFAULT_SIZE, primary)
  let best: { area: Rect; visible: number } | null = null
  for (const area of workAreas) {
    const o = overlap(saved, area)
    const visible = o.width * o.height
    if (o.width >= MIN_VISIBLE.width && o.height >= MIN_VISIBLE.height && (!best || visible > best.visible)) best = { area, visible }
  }
  if (!best) return centred({ width: saved.width, height: saved.height }, primary)
  const area = best.area
  const width = Math.min(Math.max(saved.width, Math.min(MIN_SIZE.width, area.width)), area.width)
  const height = Math.min(Math.max(saved.height, Math.min(MIN_SIZE.height, area.height)), area.height)
  // Keep the title bar on the screen: move the window in, never off.
  const x = Math.min(Math.max(saved.x, area.x), area.x + area.width - width)
  const y = Math.min(Math.max(saved.y, area.y), area.y + area.height - height)
  return { x, y, width, height }
}
