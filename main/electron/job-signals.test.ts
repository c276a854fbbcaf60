import { describe, expect, it } from 'vitest'
import type { JobInfo } from '../../shared/contract/jobs'
import { closeDecision, crashPrompt, taskbarProgress } from './job-signals'

const job = (id: string, patch: Partial<JobInfo> = {}): JobInfo => ({
  id,
  kind: 'export',
  title: `Job ${id}`,
  state: 'running',
  done: 0,
  total: 100,
  message: '',
  startedAt: 1,
  finishedAt: null,
  error: null,
  ...patch
})

describe('taskbar and dock progress', () => {
  it('shows no bar when no job runs', () => {
    expect(taskbarProgress([])).toEqual({ value: -1, mode: 'none' })
    expect(taskbarProgress([job('a', { state: 'succeeded', done: 100 })])).toEqual({ value: -1, mode: 'none' })
  })

  it('sums the running jobs into one fraction', () => {
    expect(taskbarProgress([job('a', { done: 50 }), job('b', { done: 10, total: 300 }), job('c', { state: 'failed' })])).toEqual({ value: 0.15, mode: 'normal' })
  })

  it('is indeterminate while a job does not know its total', () => {
    expect(taskbarProgress([job('a', { done: 50 }), job('b', { total: null })])).toEqual({ value: 2, mode: 'indeterminate' })
  })

  it('never goes past full', () => {
    expect(taskbarProgress([job('a', { done: 150 })]).value).toBe(1)
  })
})

describe('closing the window during a job', () => {
  it('closes at once when nothing runs', () => {
    expect(closeDecision([job('a', { state: 'succeeded' })])).toEqual({ kind: 'close' })
  })

  it('asks first, naming the running job and its progress, with Keep Working as the safe answer', () => {
    const decision = closeDecision([job('a', { title: 'Import of shop.ndjson', done: 42 }), job('b', { state: 'cancelled' })])
    expect(decision).toMatchObject({ kind: 'ask', message: 'A job is still running.', buttons: ['Keep Working', 'Stop the Job and Close'], jobIds: ['a'] })
    expect(decision.kind === 'ask' && decision.detail).toContain('• Import of shop.ndjson (42%)')
  })

  it('lists a few jobs and counts the rest', () => {
    const decision = closeDecision(Array.from({ length: 7 }, (_, i) => job(String(i), { total: null })))
    expect(decision.kind === 'ask' && decision.message).toBe('7 jobs are still running.')
    expect(decision.kind === 'ask' && decision.detail).toContain('• and 2 more')
    expect(decision.kind === 'ask' && decision.buttons[1]).toBe('Stop the Jobs and Close')
  })
})

describe('a renderer that went away', () => {
  it('offers a reload and says the engine is unaffected', () => {
    const prompt = crashPrompt({ reason: 'crashed', exitCode: 11 })
    expect(prompt).toMatchObject({ message: 'The workbench window crashed.', buttons: ['Reload', 'Close Window'] })
    expect(prompt!.detail).toContain('The engine is still running')
    expect(crashPrompt({ reason: 'oom', exitCode: 0 })!.message).toBe('The workbench window ran out of memory.')
    expect(crashPrompt({ reason: 'something-new', exitCode: 1 })!.message).toBe('The workbench window stopped (something-new).')
  })

  it('says nothing when the page ended normally', () => {
    expect(crashPrompt({ reason: 'clean-exit', exitCode: 0 })).toBeNull()
  })
})
