// Builds better-sqlite3 for Electron's ABI into its own folder, leaving the Node build in node_modules untouched,
// so `npm test` under Node and `npm start` under Electron both work, in any order.
// The desktop main process loads this copy through better-sqlite3's `nativeBinding` option (ESW_SQLITE_BINDING).
const { cpSync, existsSync, mkdirSync, rmSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const { join } = require('node:path')

const root = join(__dirname, '..')
const electronVersion = require(join(root, 'node_modules', 'electron', 'package.json')).version
const sourceDir = join(root, 'node_modules', 'better-sqlite3')
const targetDir = join(root, 'node_modules', '.cache', 'esw-electron', `electron-${electronVersion}-${process.platform}-${process.arch}`)
const binding = join(targetDir, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' })
  return result.status === 0
}

/** Returns the path of better_sqlite3.node built for the installed Electron, building it on first use. */
function ensureElectronSqlite() {
  if (existsSync(binding)) return binding
  console.log(`Building better-sqlite3 for Electron ${electronVersion} (first start only)...`)
  rmSync(targetDir, { recursive: true, force: true })
  mkdirSync(targetDir, { recursive: true })
  const moduleDir = join(targetDir, 'better-sqlite3')
  cpSync(sourceDir, moduleDir, { recursive: true, filter: (src) => !src.includes(`${join('build', 'Release', 'obj')}`) })
  rmSync(join(moduleDir, 'build'), { recursive: true, force: true })
  const prebuild = join(root, 'node_modules', 'prebuild-install', 'bin.js')
  const fetched =
    existsSync(prebuild) &&
    run(process.execPath, [prebuild, '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch], moduleDir)
  if (!fetched) {
    const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
    const gypArgs = ['rebuild', '--release', '--runtime=electron', `--target=${electronVersion}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers']
    const built = existsSync(gyp) ? run(process.execPath, [gyp, ...gypArgs], moduleDir) : run('npx', ['--yes', 'node-gyp', ...gypArgs], moduleDir)
    if (!built) throw new Error('Could not build better-sqlite3 for Electron (no prebuilt binary and node-gyp failed)')
  }
  if (!existsSync(binding)) throw new Error(`better-sqlite3 for Electron was not produced at ${binding}`)
  return binding
}

module.exports = { ensureElectronSqlite, electronSqliteBinding: binding }

if (require.main === module) {
  try {
    console.log(ensureElectronSqlite())
  } catch (error) {
    console.error(error.message)
    process.exit(1)
  }
}
