import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

const built = new Map<string, string>()


/**
 * The JavaScript file of a worker thread entry. In the built app it sits next to this code (out/main/NAME.js);
 * when running from source (tests) the TypeScript entry is bundled once per process with esbuild.
 */
export function workerScript(name: string, sourceEntry: string): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, `${name}.js`)
  return bundleForThisProcess(name, sourceEntry)
}

/** Bundles a TypeScript entry with esbuild into a cache folder of this process (once), and returns the file. */
export function bundleForThisProcess(name: string, sourceEntry: string, options: { format?: 'cjs' | 'iife'; external?: string[] } = {}): string {
  const cached = built.get(name)
  if (cached) return cached
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild')
  const outDir = join(process.cwd(), 'node_modules', '.cache', 'esw-workers', String(process.pid))
  mkdirSync(outDir, { recursive: true })
  const outfile = join(outDir, `${name}.js`)
  esbuild.buildSync({
    entryPoints: [sourceEntry],
    bundle: true,
    platform: 'node',
    format: options.format ?? 'cjs',
    target: 'node20',
    outfile,
    sourcemap: options.format === 'iife' ? false : 'inline',
    minify: options.format === 'iife',
    external: options.external ?? ['better-sqlite3', 'esbuild'],
    logLevel: 'error'
  })
  built.set(name, outfile)
  return outfile
}
