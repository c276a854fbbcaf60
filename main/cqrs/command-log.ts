import type Database from 'better-sqlite3'
import type { CommandOutcome } from '../../shared/contract/commands'

/** Remembers the outcome of each command sent with an idempotency key, in the workspace database. */
export class CommandLog {
  private readonly get: Database.Statement<[string], { outcome: string }>
  private readonly put: Database.Statement<[string, string, number]>

  constructor(db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS command_log (idempotency_key TEXT PRIMARY KEY, outcome TEXT NOT NULL, recorded_at INTEGER NOT NULL) WITHOUT ROWID')
    this.get = db.prepare('SELECT outcome FROM command_log WHERE idempotency_key = ?')
    this.put = db.prepare('INSERT OR IGNORE INTO command_log (idempotency_key, outcome, recorded_at) VALUES (?, ?, ?)')
  }

  find(key: string): CommandOutcome | null {
    const row = this.get.get(key)
    return row ? (JSON.parse(row.outcome) as CommandOutcome) : null
  }

  remember(key: string, outcome: CommandOutcome): void {
    this.put.run(key, JSON.stringify(outcome), Date.now())
  }
}
