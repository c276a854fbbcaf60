// `npm run dist`: builds the app, then its installers for this system with electron-builder (electron-builder.yml).
// Extra arguments go to electron-builder, e.g. `npm run dist -- --dir` (an unpacked app only) or `-- --linux deb`.
// The full output is kept in dist/dist.log; when packaging fails, this says why in a few lines.
const { spawn, spawnSync } = require('node:child_process')
const { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')
const logFile = join(root, 'dist', 'dist.log')

function fail(lines) {
  console.error(`\nnpm run dist: no installer was built.\n${lines.map((l) => `  ${l}`).join('\n')}\n`)
  process.exit(1)
}

const builderCli = join(root, 'node_modules', 'electron-builder', 'cli.js')
if (!existsSync(builderCli)) fail(['electron-builder is not installed: run `npm install` first.'])
const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version

console.log('Building the app (electron-vite)...')
const build = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) fail(['The app did not build (see the errors above); fix them and run `npm run dist` again.'])
require('./build-prelude')

// A universal macOS app needs esbuild's binary for both architectures; npm installs only this Mac's.
if (process.platform === 'darwin') {
  const esbuildVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version
  const missing = ['arm64', 'x64'].filter((arch) => !existsSync(join(root, 'node_modules', '@esbuild', `darwin-${arch}`, 'package.json')))
  if (missing.length) {
    console.log(`Adding esbuild's binary for ${missing.join(' and ')} (for the universal app)...`)
    const add = spawnSync('npm', ['install', '--no-save', '--force', ...missing.map((arch) => `@esbuild/darwin-${arch}@${esbuildVersion}`)], { cwd: root, stdio: 'inherit' })
    if (add.status !== 0) fail([`Could not install esbuild's macOS binaries (${missing.join(', ')}).`, 'Build one architecture instead: `npm run dist -- --mac --arm64` or `-- --mac --x64`.'])
  }
}

/** What went wrong, from electron-builder's output, in words a person can act on. */
function diagnose(output) {
  const platform = `${process.platform}-${process.arch}`
  const lines = output.split('\n')
  const errorAt = lines.map((l) => /⨯/.test(l)).lastIndexOf(true)
  const error = (errorAt >= 0 ? lines[errorAt] : lines.reverse().find((l) => /error/i.test(l) && !/^\s+at /.test(l)) ?? '').replace(/\s+stackTrace=.*$/, '').replace(/\s+failedTask=\S+/, '').replace(/^\s*⨯\s*/, '').trim()
  const steps = (errorAt >= 0 ? lines.slice(0, errorAt) : lines).filter((l) => /^\s*•/.test(l))
  const lastStep = (steps[steps.length - 1] ?? '').replace(/^\s*•\s*/, '')
  const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo|socket hang up|status code (4|5)\d\d/i.test(error)
  if (/^(executing @electron\/rebuild|installing native dependencies|preparing|rebuilding)/.test(lastStep) || /gyp|prebuild|rebuild/i.test(error)) {
    return [
      `better-sqlite3 could not be rebuilt for Electron ${electronVersion}${error ? ` (${error})` : ''}.`,
      "That needs Electron's headers (downloaded) or a prebuilt binary, and a C++ toolchain (python3, make, a compiler;",
      'on Windows the Visual Studio Build Tools; on macOS the Xcode command line tools).'
    ]
  }
  if (offline && (/^(packaging|downloading)/.test(lastStep) || /electron-v[\d.]+-/.test(error))) {
    return [
      `electron-builder could not download Electron ${electronVersion} for ${platform} (${error}).`,
      "An installer is made from Electron's release archive, fetched once and then cached; this machine could not",
      'reach the Electron download host. Run `npm run dist` on a machine with internet access, point ELECTRON_MIRROR',
      `at a mirror, or put electron-v${electronVersion}-${platform}.zip into Electron's cache (electron_config_cache).`
    ]
  }
  if (offline) return [`A download failed while ${lastStep || 'packaging'} (${error}). Run \`npm run dist\` where the internet is reachable.`]
  return [`electron-builder failed${lastStep ? ` while ${lastStep}` : ''}${error ? `: ${error}` : '.'}`]
}

// electron-builder rebuilds better-sqlite3 for Electron in place; the tests run under Node and need the Node build
// back afterwards, so the addon (and the rebuild marker) are put back as they were, however packaging ends.
const sqliteRelease = join(root, 'node_modules', 'better-sqlite3', 'build', 'Release')
const keptFiles = ['better_sqlite3.node', '.forge-meta'].map((name) => {
  const file = join(sqliteRelease, name)
  return { file, data: existsSync(file) ? readFileSync(file) : null }
})
function restoreNodeSqlite() {
  for (const { file, data } of keptFiles) {
    if (data) writeFileSync(file, data)
    else rmSync(file, { force: true })
  }
}

mkdirSync(join(root, 'dist'), { recursive: true })
const log = createWriteStream(logFile)
const args = [builderCli, '--config', 'electron-builder.yml', '--publish', 'never', ...process.argv.slice(2)]
console.log(`Packaging with electron-builder (full log: ${logFile})...`)
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
let output = ''
for (const stream of [child.stdout, child.stderr]) {
  let rest = ''
  stream.on('data', (chunk) => {
    const text = chunk.toString()
    output += text
    log.write(text)
    const lines = (rest + text).split('\n')
    rest = lines.pop() ?? ''
    // Stack frames go to the log only.
    for (const line of lines) if (!/^\s+at /.test(line)) console.log(line.replace(/\s+stackTrace=.*$/, ''))
  })
}
child.on('exit', (code) => {
  log.end()
  restoreNodeSqlite()
  if (code === 0) {
    console.log(`\nInstallers are in ${join(root, 'dist')}.`)
    return
  }
  fail([...diagnose(output), `Full output: ${logFile}`])
})
