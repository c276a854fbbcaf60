/**
 * Passwords for PostgreSQL stores, never written to a workspace. A host keeps them its own way: the desktop app in
 * the OS keychain (main/electron/keychain.ts), the browser host and the command line in memory, from
 * ESW_PG_PASSWORD or from the person.
 */
export interface Credentials {
  /** The password for a server location (its URL without password), if one is known. */
  get(location: string): string | undefined
  /** Keeps a password for this run; `remember` also keeps it across launches where the host can (the keychain). */
  set(location: string, password: string, remember: boolean): void
  /** Forgets a password (it was refused). */
  forget(location: string): void
  /** Whether `remember` keeps a password across launches here. */
  readonly canRemember: boolean
}

/** Passwords held for this process; ESW_PG_PASSWORD answers for every location without one of its own. */
export class MemoryCredentials implements Credentials {
  readonly canRemember: boolean = false
  protected readonly known = new Map<string, string>()

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get(location: string): string | undefined {
    return this.known.get(location) ?? this.env.ESW_PG_PASSWORD
  }

  set(location: string, password: string, _remember: boolean): void {
    this.known.set(location, password)
  }

  forget(location: string): void {
    this.known.delete(location)
  }
}
