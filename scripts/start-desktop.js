// `npm start`: builds the app and launches the desktop window.
const { spawn, spawnSync } = require('node:child_process')
const { join } = require('node:path')
const { findElectronBinary } = require('./electron-binary')

const root = join(__dirname, '..')

function fail(message) {
  console.error(`\nEvent Workbench cannot start the desktop app: ${message}`)
  console.error('The same app runs in your browser: `npm run serve`, then open the URL it prints.\n')
  process.exit(1)
}

let binary = findElectronBinary().path
if (!binary) {
  // The electron package fetches its binary on first use; try that once.
  const fetch = spawnSync(process.execPath, ['-e', "require('electron')"], { cwd: root, stdio: 'inherit' })
  const found = findElectronBinary()
  if (fetch.status !== 0 || !found.path) fail(`${found.reason}; downloading it failed (no access to the Electron download host?)`)
  binary = found.path
}

let binding
try {
  binding = require('./electron-native').ensureElectronSqlite()
} catch (error) {
  fail(error.message)
}

const build = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) fail('the build failed')
require('./build-prelude')

const child = spawn(binary, [root, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ESW_SQLITE_BINDING: binding }
})
child.on('exit', (code) => process.exit(code ?? 0))
