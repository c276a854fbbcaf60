import { join } from 'node:path'
import { buildSync } from 'esbuild'

/**
 * A definition file compiled for plain Node — no vm, no worker — with `workbench` being the same runtime module
 * the sandbox bundles: the baseline the benchmarks compare the sandbox with. Returns the default export.
 */
export function loadPlain<T>(root: string, file: string, source: string): T {
  const built = buildSync({
    stdin: { contents: source, loader: 'ts', resolveDir: root, sourcefile: file },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    alias: { workbench: join(root, 'main', 'sandbox', 'runtime', 'workbench-module.ts') },
    logLevel: 'error'
  })
  const module = { exports: {} as Record<string, unknown> }
  new Function('module', 'exports', 'require', built.outputFiles[0].text)(module, module.exports, require)
  return module.exports.default as T
}
