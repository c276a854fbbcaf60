import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { definitionKinds, type DefinitionKind } from '../../shared/model/definitions'
import { RpcError } from '../../shared/rpc/errors'

export interface DefinitionFile {
  /** Relative path, e.g. `domain/orders.ts`. */
  path: string
  kind: DefinitionKind
  source: string
  modifiedAt: number
}

const fileName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}\.ts$/

/** Checks a relative definition path (`domain/orders.ts`): a known folder and a plain .ts name, nothing else. */
export function checkDefinitionPath(path: string): { kind: DefinitionKind; name: string } {
  const [kind, name, ...rest] = path.split('/')
  if (rest.length || !definitionKinds.includes(kind as DefinitionKind) || !name || !fileName.test(name) || name.endsWith('.d.ts')) {
    throw new RpcError('InvalidInput', `Invalid definition file path '${path}': expected <${definitionKinds.join('|')}>/<name>.ts`, { field: 'path' })
  }
  return { kind: kind as DefinitionKind, name }
}

export function listDefinitionFiles(dir: string): DefinitionFile[] {
  const out: DefinitionFile[] = []
  for (const kind of definitionKinds) {
    const folder = join(dir, kind)
    if (!existsSync(folder)) continue
    for (const name of readdirSync(folder).sort()) {
      if (!fileName.test(name) || name.endsWith('.d.ts')) continue
      const full = join(folder, name)
      const stat = statSync(full)
      if (!stat.isFile()) continue
      out.push({ path: `${kind}/${name}`, kind, source: readFileSync(full, 'utf8'), modifiedAt: stat.mtimeMs })
    }
  }
  return out
}

/** Writes a definition file atomically (write then rename), so a watcher never reads half a file. */
export function writeDefinitionFile(dir: string, path: string, source: string): void {
  const { kind, name } = checkDefinitionPath(path)
  const folder = join(dir, kind)
  mkdirSync(folder, { recursive: true })
  const target = join(folder, name)
  const temp = join(folder, `.${name}.${process.pid}.tmp`)
  writeFileSync(temp, source)
  renameSync(temp, target)
}

export function deleteDefinitionFile(dir: string, path: string): void {
  const { kind, name } = checkDefinitionPath(path)
  const target = join(dir, kind, name)
  if (!existsSync(target)) throw new RpcError('NotFound', `No definition file ${path}`)
  unlinkSync(target)
}
