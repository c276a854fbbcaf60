#!/usr/bin/env node
// A throwaway PostgreSQL cluster for tests and benchmarks: initialised in a temporary folder, listening on
// 127.0.0.1 only, on a free port, with a random password. Nothing of it outlives `stop`.
//
//   node scripts/pg-test-server.js start           prints {"url","dir","password",...} as one JSON line
//   node scripts/pg-test-server.js stop <dir>      stops the cluster and removes its folder
//   node scripts/pg-test-server.js run -- CMD...   starts one, runs CMD with ESW_PG_URL (no password in it) and
//                                                  ESW_PG_PASSWORD set, then stops it
//   node scripts/pg-test-server.js where           prints the folder of the binaries, or exits 1
//
// The binaries are looked for in ESW_PG_BIN, /usr/local/bin, /usr/lib/postgresql/<newest>/bin (Debian's
// packages) and PATH. initdb and postgres refuse to run as root: as root, they run as the `postgres` user.
const { execFileSync, spawnSync } = require('node:child_process')
const { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } = require('node:fs')
const { createServer } = require('node:net')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { randomBytes } = require('node:crypto')

function findBinaries() {
  const candidates = []
  if (process.env.ESW_PG_BIN) candidates.push(process.env.ESW_PG_BIN)
  candidates.push('/usr/local/bin')
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    for (const v of versions) candidates.push(join(debian, v, 'bin'))
  }
  for (const p of (process.env.PATH || '').split(':')) if (p) candidates.push(p)
  for (const dir of candidates) {
    if (['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)))) return dir
  }
  return null
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** Runs a PostgreSQL program, as the `postgres` user when we are root. */
function runPg(bin, program, args, options = {}) {
  const exe = join(bin, program)
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args]
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options })
}

/**
 * Initialises and starts a cluster. `settings` are extra postgres -c settings; the defaults suit tests (no fsync:
 * the data is thrown away). Resolves to {url, host, port, user, password, database, dir, bin}.
 */
async function startServer({ settings = {}, durable = false } = {}) {
  const bin = findBinaries()
  if (!bin) throw new Error('PostgreSQL binaries not found (initdb, pg_ctl, postgres): install postgresql or set ESW_PG_BIN')
  const dir = mkdtempSync(join(tmpdir(), 'esw-pg-'))
  const data = join(dir, 'data')
  const password = randomBytes(18).toString('base64url')
  const pwfile = join(dir, 'pw')
  writeFileSync(pwfile, password + '\n', { mode: 0o600 })
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
    chownSync(pwfile, uid, gid)
  }
  chmodSync(dir, 0o700)
  try {
    runPg(bin, 'initdb', ['-D', data, '-U', 'esw', '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'])
  } finally {
    rmSync(pwfile, { force: true })
  }
  const port = await freePort()
  const all = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    max_connections: '100',
    track_commit_timestamp: 'on',
    ...(durable ? {} : { fsync: 'off', full_page_writes: 'off', synchronous_commit: 'off' }),
    ...settings
  }
  const opts = Object.entries(all)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ')
  try {
    runPg(bin, 'pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start'])
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const user = 'esw'
  const database = 'postgres'
  return { url: `postgres://${user}@127.0.0.1:${port}/${database}`, host: '127.0.0.1', port, user, password, database, dir, bin }
}

function stopServer(dir) {
  const bin = findBinaries()
  const data = join(dir, 'data')
  if (bin && existsSync(join(data, 'postmaster.pid'))) {
    try {
      runPg(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    } catch {
      // Already stopped.
    }
  }
  rmSync(dir, { recursive: true, force: true })
}

async function cli(argv) {
  const [command, ...rest] = argv
  if (command === 'where') {
    const bin = findBinaries()
    if (!bin) return 1
    process.stdout.write(bin + '\n')
    return 0
  }
  if (command === 'start') {
    process.stdout.write(JSON.stringify(await startServer({ durable: rest.includes('--durable') })) + '\n')
    return 0
  }
  if (command === 'stop' && rest[0]) {
    stopServer(rest[0])
    return 0
  }
  if (command === 'run') {
    const cmd = rest[0] === '--' ? rest.slice(1) : rest
    if (cmd.length === 0) throw new Error('usage: pg-test-server.js run -- CMD [ARGS...]')
    const server = await startServer({ durable: process.env.ESW_PG_DURABLE === '1' })
    try {
      const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, ESW_PG_URL: server.url, ESW_PG_PASSWORD: server.password } })
      return r.status ?? 1
    } finally {
      stopServer(server.dir)
    }
  }
  process.stderr.write('usage: pg-test-server.js start [--durable] | stop <dir> | run -- CMD... | where\n')
  return 2
}

module.exports = { findBinaries, startServer, stopServer }

if (require.main === module) {
  cli(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error) => {
      process.stderr.write(`pg-test-server: ${error.stderr || error.message}\n`)
      process.exitCode = 1
    }
  )
}
