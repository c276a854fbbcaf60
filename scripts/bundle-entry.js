// Bundles one TypeScript entry for running from source (tests): what the Vite build does for out/main,
// including `?raw` text imports and the `workbench` module alias. Usage: node bundle-entry.js <entry> <outfile> <format> [external,...]
const { build } = require('esbuild')
const { readFileSync } = require('node:fs')
const { join } = require('node:path')

const [entry, outfile, format = 'cjs', external = 'better-sqlite3,esbuild'] = process.argv.slice(2)
const root = join(__dirname, '..')

const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: join(args.resolveDir, args.path.replace(/\?raw$/, '')), namespace: 'raw-text' }))
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }))
  }
}

build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format,
  target: 'node20',
  outfile,
  sourcemap: format === 'iife' ? false : 'inline',
  minify: format === 'iife',
  external: external ? external.split(',') : [],
  alias: { workbench: join(root, 'main', 'sandbox', 'runtime', 'workbench-module.ts') },
  logLevel: 'error',
  plugins: [rawText]
}).catch(() => process.exit(1))
