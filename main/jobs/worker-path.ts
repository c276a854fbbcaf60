import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'

const built = new Map<string, string>()


/**
 * The JavaScript file of a worker thread entry. In the built app it sits next to this code (out/main/NAME.js);
 * when running from source (tests) the TypeScript entry is bundled once per process with esbuild.
 */
export function workerScript(name: string, sourceEntry: string): string {
  const built = join(__dirname, `${name}.js`)
  if (!__filename.endsWith('.ts') && existsSync(built)) return built
  return bundleForThisProcess(name, sourceFile(sourceEntry))
}

/**
 * A source entry named relative to the project root (`main/sandbox/sandbox-worker.ts`), found from the working
 * folder, which is the project root when running from source (tests, a bundled test CLI).
 */
export function sourceFile(entry: string): string {
  return isAbsolute(entry) ? entry : join(process.cwd(), entry)
}

/** Bundles a TypeScript entry with esbuild into a cache folder of this process (once), and returns the file. */
export function bundleForThisProcess(name: string, sourceEntry: string, options: { format?: 'cjs' | 'iife'; external?: string[] } = {}): string {
  const cached = built.get(name)
  if (cached) return cached
  const outDir = join(process.cwd(), 'node_modules', '.cache', 'esw-workers', String(process.pid))
  mkdirSync(outDir, { recursive: true })
  const outfile = join(outDir, `${name}.js`)
  // esbuild's synchronous API takes no plugins (needed for `?raw` imports), so bundle in a child process.
  const script = join(process.cwd(), 'scripts', 'bundle-entry.js')
  execFileSync(process.execPath, [script, sourceEntry, outfile, options.format ?? 'cjs', (options.external ?? ['better-sqlite3', 'esbuild']).join(',')], { stdio: 'inherit' })
  built.set(name, outfile)
  return outfile
}
