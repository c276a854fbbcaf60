import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { TrustRegistry } from '../../main/workspace/trust'
import { Workspace } from '../../main/workspace/workspace'

// The renderer keeps the newest state of a folder by revision: a folder opened again (a reset, a reopen) must not
// start below the revisions it had, or its first states would be taken as old ones and dropped.
it('a folder opened again goes on from the revisions it had, not from 0', async () => {
  const home = mkdtempSync(join(tmpdir(), 'esw-revision-'))
  try {
    const trust = new TrustRegistry(join(home, 'home'))
    const first = await Workspace.open(join(home, 'ws'), { trust, watch: false })
    await first.saveFile('projections/a.ts', "import { defineProjection } from 'workbench'\n")
    await first.saveFile('projections/a.ts', "import { defineProjection } from 'workbench'\n// again\n")
    const before = first.state().revision
    expect(before).toBeGreaterThanOrEqual(2)
    await first.close()
    const again = await Workspace.open(join(home, 'ws'), { trust, watch: false })
    try {
      expect(again.state().revision).toBeGreaterThan(before)
    } finally {
      await again.close()
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
})
