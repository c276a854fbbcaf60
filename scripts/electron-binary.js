// Finds the Electron binary without `require('electron')`, which would start a download.
const { existsSync, readFileSync } = require('node:fs')
const { join } = require('node:path')

const electronDir = join(__dirname, '..', 'node_modules', 'electron')

/** The path of the installed Electron executable, or null when it is absent (with the reason). */
function findElectronBinary() {
  const pathFile = join(electronDir, 'path.txt')
  if (!existsSync(electronDir)) return { path: null, reason: 'the electron package is not installed (run `npm install`)' }
  if (!existsSync(pathFile)) return { path: null, reason: 'Electron binary not installed (node_modules/electron/path.txt is missing)' }
  const binary = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim())
  if (!existsSync(binary)) return { path: null, reason: `Electron binary not installed (${binary} is missing)` }
  return { path: binary, reason: null }
}

module.exports = { findElectronBinary, electronDir }
