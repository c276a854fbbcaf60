// Builds the sandbox prelude (zod + the workbench module + the dispatcher) as one self-contained script,
// out/main/sandbox-prelude.js, which every sandbox context evaluates first.
const { buildSync } = require('esbuild')
const { join } = require('node:path')

const root = join(__dirname, '..')
buildSync({
  entryPoints: [join(root, 'main', 'sandbox', 'runtime', 'context-runtime.ts')],
  bundle: true,
  platform: 'neutral',
  format: 'iife',
  target: 'es2022',
  minify: true,
  outfile: join(root, 'out', 'main', 'sandbox-prelude.js'),
  logLevel: 'error'
})
