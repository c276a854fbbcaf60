import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

/*
 * The benchmarks' peers (Emmett-SQLite, Emmett-PostgreSQL) live in tests/bench/peers with their own package.json
 * and lock (they need --legacy-peer-deps, and node-sqlite3 built from source), are installed on demand, and are
 * loaded at run time from there: nothing imports them statically, so `tsc` and the app's install never need them.
 */

/** Where a peer package's package.json is once installed (`name` may be scoped: @scope/name). */
export function peerManifest(peers: string, name: string): string {
  return join(peers, 'node_modules', ...name.split('/'), 'package.json')
}

/** The installed version of a peer package. */
export function peerVersion(peers: string, name: string): string {
  return (JSON.parse(readFileSync(peerManifest(peers, name), 'utf8')) as { version: string }).version
}

/**
 * Loads a peer from tests/bench/peers: when `installed` says it is missing, first runs
 * `npm ci --legacy-peer-deps --prefix tests/bench/peers` (saying so, and what else the install does: `installNote`),
 * then calls `load` with a require that resolves from there. Returns what `load` returns, or why it failed.
 */
export function loadPeer<T>(
  root: string,
  peer: { name: string; installNote: string; installed: (peers: string) => boolean; load: (peerRequire: NodeJS.Require, peers: string) => T }
): T | { error: string } {
  const peers = join(root, 'tests', 'bench', 'peers')
  if (!peer.installed(peers)) {
    console.log(`${peer.name} is not installed: running \`npm ci --legacy-peer-deps --prefix tests/bench/peers\` (${peer.installNote})...`)
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const result = spawnSync(npm, ['ci', '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefix', peers], { cwd: root, stdio: 'inherit' })
    if (result.status !== 0 || !peer.installed(peers)) return { error: `npm ci in tests/bench/peers failed (exit ${result.status ?? result.signal})` }
  }
  try {
    return peer.load(createRequire(join(peers, 'package.json')), peers)
  } catch (error) {
    return { error: `loading ${peer.name} failed: ${error instanceof Error ? error.message : String(error)}` }
  }
}
