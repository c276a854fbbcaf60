import type Database from 'better-sqlite3'

/** Snapshots of folded state, keyed by stream, version and a hash of the decider's code. */
export class SnapshotStore {
  private readonly latest: Database.Statement<[string, string, number], { version: number; state: string }>
  private readonly put: Database.Statement<[string, string, string, number, string, number]>

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS snapshots (
      stream_id TEXT NOT NULL,
      decider TEXT NOT NULL,
      code_hash TEXT NOT NULL,
      version INTEGER NOT NULL,
      state TEXT NOT NULL,
      taken_at INTEGER NOT NULL,
      PRIMARY KEY (stream_id, code_hash, version)
    ) WITHOUT ROWID`)
    this.latest = db.prepare('SELECT version, state FROM snapshots WHERE stream_id = ? AND code_hash = ? AND version <= ? ORDER BY version DESC LIMIT 1')
    this.put = db.prepare('INSERT OR REPLACE INTO snapshots (stream_id, decider, code_hash, version, state, taken_at) VALUES (?, ?, ?, ?, ?, ?)')
  }

  /** The newest snapshot at or before a version, taken with exactly this code. */
  find(streamId: string, codeHash: string, atOrBefore: number): { version: number; state: unknown } | null {
    const row = this.latest.get(streamId, codeHash, atOrBefore)
    return row ? { version: row.version, state: JSON.parse(row.state) } : null
  }

  save(streamId: string, decider: string, codeHash: string, version: number, state: unknown): void {
    this.put.run(streamId, decider, codeHash, version, JSON.stringify(state), Date.now())
  }

  /** Removes snapshots: of one decider, or only those whose code hash is not current. */
  purge(options: { decider?: string; keepHashes?: string[] }): number {
    const where: string[] = []
    const params: unknown[] = []
    if (options.decider) {
      where.push('decider = ?')
      params.push(options.decider)
    }
    if (options.keepHashes) {
      where.push(`code_hash NOT IN (${options.keepHashes.map(() => '?').join(', ') || "''"})`)
      params.push(...options.keepHashes)
    }
    return this.db.prepare(`DELETE FROM snapshots ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`).run(...params).changes
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n
  }
}
