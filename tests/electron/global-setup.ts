import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { electron } from './electron-binary'

const require = createRequire(__filename)
const root = join(__dirname, '..', '..')

export default function globalSetup() {
  if (!electron.path) {
    console.log(`\nELECTRON SUITE NOT RUN: ${electron.reason}.`)
    console.log('These tests were skipped, not passed. They run on a machine where the Electron binary is installed.\n')
    return
  }
  if (!existsSync(join(root, 'out', 'main', 'index.js'))) throw new Error('The app is not built: run `npm run build` before the Electron suite')
  // The app under test loads better-sqlite3 built for Electron's ABI, kept apart from the Node build the other tests use.
  const { ensureElectronSqlite } = require('../../scripts/electron-native.js') as { ensureElectronSqlite(): string }
  process.env.ESW_SQLITE_BINDING = ensureElectronSqlite()
}
