import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Vitest 5's reporter calls Map.groupBy, which Node 20 lacks; without this a failing test crashes the report.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    value<K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, V[]> {
      const groups = new Map<K, V[]>()
      let i = 0
      for (const item of items) {
        const k = key(item, i++)
        const group = groups.get(k)
        if (group) group.push(item)
        else groups.set(k, [item])
      }
      return groups
    }
  })
}

export default defineConfig({
  resolve: {
    // Definition files import `workbench`; in tests they get the same runtime module the sandbox bundles.
    alias: { workbench: fileURLToPath(new URL('./main/sandbox/runtime/workbench-module.ts', import.meta.url)) }
  },
  test: {
    include: ['main/**/*.test.ts', 'shared/**/*.test.ts', 'renderer/src/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/lint/**/*.test.ts'],
    environment: 'node',
    // Trust, recent workspaces and the default workspace live in a throwaway home, never the user's.
    env: { ESW_HOME: mkdtempSync(join(tmpdir(), 'esw-home-')) },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
