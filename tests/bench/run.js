#!/usr/bin/env node
// Bundles tests/bench/<name>.bench.ts with esbuild and runs it in this process.
//   node tests/bench/run.js store [--scale 0.1] [--only ours,raw,emmett-shared,emmett-per-op] [--phase-budget 300]
//   node tests/bench/run.js postgres [--scale 0.1] [--only ours,emmett] [--phase-budget 600]   (starts its own cluster)
// Suites: every tests/bench/<name>.bench.ts (store, postgres, engine, projections, sagas, versioning).
// (`npm run bench -- --scale 0.1` passes the flags through.) Node flags such as --cpu-prof go before the script:
//   node --cpu-prof --cpu-prof-dir=test-results/bench/prof tests/bench/run.js store --scale 0.1 --only ours
const { existsSync, mkdirSync, readdirSync } = require('node:fs')
const { join, resolve } = require('node:path')
const esbuild = require('esbuild')

const root = resolve(__dirname, '..', '..')
const args = process.argv.slice(2)
const name = args[0] && !args[0].startsWith('-') ? args.shift() : 'store'
const entry = join(root, 'tests', 'bench', `${name}.bench.ts`)
if (!existsSync(entry)) {
  const suites = readdirSync(join(root, 'tests', 'bench'))
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
  console.error(`No benchmark ${entry} (suites: ${suites.join(', ')})`)
  process.exit(2)
}
const outDir = join(root, 'node_modules', '.cache', 'esw-bench')
mkdirSync(outDir, { recursive: true })
const outfile = join(outDir, `${name}.js`)

esbuild.buildSync({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
  // Native and peer packages load from node_modules at run time (the peers from tests/bench/peers).
  external: ['better-sqlite3', 'sqlite3', 'esbuild', '@event-driven-io/*']
})

process.env.ESW_BENCH_ROOT = root
process.argv = [process.argv[0], outfile, ...args]
process.setSourceMapsEnabled(true)
require(outfile)
