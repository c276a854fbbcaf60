// Finds the native modules among the app's production dependencies: what the packaged app must keep outside
// its asar archive (electron-builder.yml's asarUnpack) and rebuild for Electron.
const { existsSync, readFileSync, readdirSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')

function readPackage(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  } catch {
    return null
  }
}

/** True when a folder holds a compiled addon (*.node), up to a few levels down. */
function hasAddon(dir, depth = 4) {
  if (depth < 0) return false
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return false
  }
  return entries.some((e) => (e.isFile() && e.name.endsWith('.node')) || (e.isDirectory() && e.name !== 'node_modules' && hasAddon(join(dir, e.name), depth - 1)))
}

/**
 * Production dependencies (with their own dependencies and installed optional ones) that carry native code:
 * a binding.gyp or a compiled addon, or a package built for one platform (`os`/`cpu` in its package.json,
 * as esbuild's binaries are). Each with the reason.
 */
function nativeModules(projectDir = root) {
  const top = readPackage(projectDir) ?? {}
  const seen = new Set()
  const found = []
  const queue = Object.keys(top.dependencies ?? {})
  while (queue.length) {
    const name = queue.shift()
    if (seen.has(name)) continue
    seen.add(name)
    const dir = join(projectDir, 'node_modules', name)
    const pkg = readPackage(dir)
    if (!pkg) continue
    let reason = null
    if (existsSync(join(dir, 'binding.gyp'))) reason = 'binding.gyp'
    else if (pkg.os || pkg.cpu) reason = 'platform binary'
    else if (hasAddon(dir)) reason = '.node addon'
    if (reason) found.push({ name, reason })
    queue.push(...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}))
  }
  return found.sort((a, b) => a.name.localeCompare(b.name))
}

module.exports = { nativeModules }

if (require.main === module) for (const m of nativeModules()) console.log(`${m.name} (${m.reason})`)
