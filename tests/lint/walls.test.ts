import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = join(__dirname, '..', '..')
const eslint = new ESLint({ cwd: root })

/** Lints a fixture as if it lived at `pretendPath`, and returns the import-wall messages. */
async function wallMessages(fixture: string, pretendPath: string): Promise<string[]> {
  const code = readFileSync(join(__dirname, 'fixtures', fixture), 'utf8')
  const [result] = await eslint.lintText(code, { filePath: join(root, pretendPath) })
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
}

describe('the import walls', () => {
  it('reports a renderer file importing from main/', async () => {
    const messages = await wallMessages('renderer-imports-main.ts', 'renderer/src/views/bad.ts')
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain('The renderer talks to the engine through the RPC client only')
  })

  it('reports a shared/ file importing Node modules, with or without the node: prefix', async () => {
    const messages = await wallMessages('shared-imports-node.ts', 'shared/model/bad.ts')
    expect(messages).toHaveLength(2)
    expect(messages.every((m) => m.includes('shared/ is pure TypeScript'))).toBe(true)
  })

  it('reports an engine folder importing electron, but not main/electron/', async () => {
    expect(await wallMessages('engine-imports-electron.ts', 'main/store/bad.ts')).toHaveLength(1)
    expect(await wallMessages('engine-imports-electron.ts', 'main/electron/fine.ts')).toHaveLength(0)
  })

  it('lets the renderer import shared/', async () => {
    expect(await wallMessages('renderer-imports-shared.ts', 'renderer/src/stores/fine.ts')).toHaveLength(0)
  })
})
