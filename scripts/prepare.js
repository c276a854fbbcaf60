// Builds the app after `npm install`, so `npx esw` and `npm run serve` work on a fresh clone.
// Skipped quietly when the build tool is not installed (a production-only install).
const { existsSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const { join } = require('node:path')

const root = join(__dirname, '..')
const cli = join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js')
if (!existsSync(cli) || !existsSync(join(root, 'electron.vite.config.ts'))) process.exit(0)
const result = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: 'inherit' })
if (result.status !== 0) process.exit(result.status ?? 1)
require('./build-prelude')
