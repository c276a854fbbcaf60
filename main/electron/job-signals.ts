import type { JobInfo } from '../../shared/contract/jobs'

/** What the taskbar (Windows), dock (macOS) or launcher (Linux) shows for the jobs that run. */
export interface TaskbarProgress {
  /** Electron's value: -1 removes the bar, 0..1 is a fraction, above 1 is indeterminate. */
  value: number
  mode: 'none' | 'normal' | 'indeterminate'
}

/** One bar for all running jobs: their summed progress, or indeterminate while any job's total is unknown. */
export function taskbarProgress(jobs: readonly JobInfo[]): TaskbarProgress {
  const running = jobs.filter((j) => j.state === 'running')
  if (running.length === 0) return { value: -1, mode: 'none' }
  if (running.some((j) => j.total === null || j.total <= 0)) return { value: 2, mode: 'indeterminate' }
  const total = running.reduce((sum, j) => sum + (j.total ?? 0), 0)
  const done = running.reduce((sum, j) => sum + Math.min(j.done, j.total ?? 0), 0)
  return { value: Math.min(1, Math.max(0, done / total)), mode: 'normal' }
}

export type CloseDecision =
  | { kind: 'close' }
  | { kind: 'ask'; message: string; detail: string; buttons: [keep: string, stop: string]; jobIds: string[] }

/** Closing the window while a job runs asks first: the job would be cancelled, its work not kept. */
export function closeDecision(jobs: readonly JobInfo[]): CloseDecision {
  const running = jobs.filter((j) => j.state === 'running')
  if (running.length === 0) return { kind: 'close' }
  const percent = (j: JobInfo) => (j.total ? ` (${Math.floor((Math.min(j.done, j.total) / j.total) * 100)}%)` : '')
  const listed = running.slice(0, 5).map((j) => `• ${j.title}${percent(j)}`)
  if (running.length > 5) listed.push(`• and ${running.length - 5} more`)
  return {
    kind: 'ask',
    message: running.length === 1 ? 'A job is still running.' : `${running.length} jobs are still running.`,
    detail: `${listed.join('\n')}\n\nClosing stops ${running.length === 1 ? 'it' : 'them'}; what ${running.length === 1 ? 'it has' : 'they have'} done so far is not kept. Events already in the log stay.`,
    buttons: ['Keep Working', running.length === 1 ? 'Stop the Job and Close' : 'Stop the Jobs and Close'],
    jobIds: running.map((j) => j.id)
  }
}

/** Why a window's page went away, as Electron reports it (`render-process-gone`). */
export interface GoneDetails {
  reason: string
  exitCode: number
}

const REASONS: Record<string, string> = {
  crashed: 'crashed',
  oom: 'ran out of memory',
  killed: 'was stopped by the system',
  'abnormal-exit': 'ended unexpectedly',
  'launch-failed': 'could not start',
  'integrity-failure': 'failed a code integrity check',
  'memory-eviction': 'was closed to free memory'
}

/** The offer made when the window's page dies; null when it ended normally (the window is closing). */
export function crashPrompt(details: GoneDetails): { message: string; detail: string; buttons: [reload: string, close: string] } | null {
  if (details.reason === 'clean-exit') return null
  const what = REASONS[details.reason] ?? `stopped (${details.reason})`
  return {
    message: `The workbench window ${what}.`,
    detail:
      'The engine is still running: the workspace, its event log and any running jobs are unaffected, and nothing ' +
      'saved is lost. Reload the window to carry on' + (details.exitCode ? ` (exit code ${details.exitCode}).` : '.'),
    buttons: ['Reload', 'Close Window']
  }
}
