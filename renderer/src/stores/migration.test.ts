import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { eventSchema, fakeClient, installFakeClient, jobInfo, migrationReport, upcasterStep, workspaceState } from './fake-client'
import { migrationPlan, suggestedTarget, useMigrationStore } from './migration'
import { useWorkspaceStore } from './workspace'

beforeEach(() => setActivePinia(createPinia()))

describe('the plan of a migration', () => {
  it('follows each stored version through its chain of upcasters and counts what changes and what is copied', () => {
    const plan = migrationPlan(
      [eventSchema('ItemAdded', 1, 98), eventSchema('ItemAdded', 2, 300), eventSchema('ItemAdded', 3, 10), eventSchema('CartOpened', 1, 40), eventSchema('Legacy', 1, 2)],
      {
        steps: [upcasterStep('ItemAdded', 1, 2), upcasterStep('ItemAdded', 2, 3), upcasterStep('Legacy', 1, 1, { toType: 'CartOpened' }), upcasterStep('CartOpened', 1, 2, { split: true })],
        problems: []
      }
    )
    expect(plan.total).toBe(450)
    expect(plan.changes.map((c) => [c.type, c.schemaVersion, c.count, c.toType, c.toVersion, c.split])).toEqual([
      ['CartOpened', 1, 40, null, 2, true],
      ['ItemAdded', 1, 98, 'ItemAdded', 3, false],
      ['ItemAdded', 2, 300, 'ItemAdded', 3, false],
      ['Legacy', 1, 2, null, 2, true]
    ])
    expect(plan.copied).toBe(10)
  })

  it('stops at a loop of renames instead of going round', () => {
    const plan = migrationPlan([eventSchema('A', 1, 1)], { steps: [upcasterStep('A', 1, 1, { toType: 'B' }), upcasterStep('B', 1, 1, { toType: 'A' })], problems: [] })
    expect(plan.changes).toHaveLength(1)
  })

  it('suggests a folder beside the workspace', () => {
    expect(suggestedTarget('/ws/demo/')).toBe('/ws/demo-migrated')
    expect(suggestedTarget(null)).toBe('')
  })
})

describe('the migration wizard', () => {
  function setup(methods: Record<string, (input?: never) => Promise<unknown>> = {}) {
    const cancel = vi.fn(async ({ jobId }: { jobId: string }) => jobInfo(jobId, { kind: 'migrate', state: 'cancelled' }))
    const fake = fakeClient({
      upcasters: { startMigration: vi.fn(async () => jobInfo('m1', { kind: 'migrate' })), switchTo: vi.fn(async ({ target }: { target: string }) => ({ dir: target })), ...methods } as never,
      jobs: { list: async () => [], cancel } as never,
      workspace: { state: async () => workspaceState({ path: '/ws/demo-migrated' }) }
    })
    installFakeClient(fake)
    useWorkspaceStore().accept(workspaceState({ path: '/ws/demo' }))
    return { fake, cancel, migration: useMigrationStore() }
  }

  it('plans with a suggested target, runs with progress, verifies, and switches only when verified', async () => {
    const { fake, migration } = setup()
    await migration.open()
    migration.openWizard()
    expect(migration.target).toBe('/ws/demo-migrated')
    expect(migration.step).toBe('plan')
    expect(await migration.start()).toBe(true)
    expect(migration.step).toBe('run')
    fake.emit('jobs', 'updated', jobInfo('m1', { kind: 'migrate', done: 40, total: 100 }))
    expect(migration.job?.done).toBe(40)
    expect(migration.canSwitch).toBe(false)
    fake.emit('jobs', 'updated', jobInfo('m1', { kind: 'migrate', state: 'succeeded', done: 100, total: 100, result: migrationReport('/ws/demo-migrated') }))
    expect(migration.step).toBe('verify')
    expect(migration.failure).toBeNull()
    expect(migration.canSwitch).toBe(true)
    expect(await migration.switchTo()).toBe(true)
    expect(migration.switched).toEqual({ dir: '/ws/demo-migrated', from: '/ws/demo' })
    expect(useWorkspaceStore().state?.path).toBe('/ws/demo-migrated')
    expect(migration.canSwitch).toBe(false)
  })

  it('does not switch to a migration that failed verification', async () => {
    const switchTo = vi.fn(async () => ({ dir: 'x' }))
    const { fake, migration } = setup({ switchTo })
    await migration.open()
    migration.openWizard()
    await migration.start()
    const report = migrationReport('/ws/demo-migrated', { verified: false, projections: [{ name: 'order_summary', equal: false, differences: ['orders: 3 rows differ'] }] })
    fake.emit('jobs', 'updated', jobInfo('m1', { kind: 'migrate', state: 'succeeded', result: report }))
    expect(migration.step).toBe('verify')
    expect(migration.canSwitch).toBe(false)
    expect(await migration.switchTo()).toBe(false)
    expect(switchTo).not.toHaveBeenCalled()
  })

  it('refuses an empty target or the open workspace itself', async () => {
    const startMigration = vi.fn()
    const { migration } = setup({ startMigration })
    migration.target = '  '
    expect(await migration.start()).toBe(false)
    expect(migration.error).toBe('Enter the folder the migrated workspace goes to')
    migration.target = '/ws/demo'
    expect(await migration.start()).toBe(false)
    expect(startMigration).not.toHaveBeenCalled()
  })

  it('cancels a run, says so, and goes back to the plan', async () => {
    const { cancel, migration } = setup()
    await migration.open()
    migration.openWizard()
    await migration.start()
    await migration.cancel()
    expect(cancel).toHaveBeenCalledWith({ jobId: 'm1' })
    expect(migration.step).toBe('run')
    expect(migration.failure).toBe('Migration cancelled; the current workspace is unchanged.')
    migration.back()
    expect(migration.step).toBe('plan')
  })

  it('names a start the engine refused', async () => {
    const { migration } = setup({ startMigration: () => Promise.reject(new Error('/ws/x is not empty')) })
    migration.target = '/ws/x'
    expect(await migration.start()).toBe(false)
    expect(migration.error).toBe('Could not start the migration: /ws/x is not empty')
  })
})
