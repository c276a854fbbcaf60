import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { workbenchHome } from './location'

/**
 * Which workspace folders this user trusts to run code, and which were opened recently. Kept in the workbench's
 * home folder, never in the workspace itself: a folder from elsewhere cannot declare itself trusted.
 */
export class TrustRegistry {
  private readonly file: string

  constructor(home = workbenchHome()) {
    this.file = join(home, 'trust.json')
  }

  private read(): { trusted: string[]; recent: Array<{ path: string; name: string; openedAt: number }> } {
    if (!existsSync(this.file)) return { trusted: [], recent: [] }
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { trusted?: unknown; recent?: unknown }
      return {
        trusted: Array.isArray(parsed.trusted) ? parsed.trusted.filter((p): p is string => typeof p === 'string') : [],
        recent: Array.isArray(parsed.recent) ? (parsed.recent as Array<{ path: string; name: string; openedAt: number }>) : []
      }
    } catch {
      return { trusted: [], recent: [] }
    }
  }

  private write(state: ReturnType<TrustRegistry['read']>) {
    mkdirSync(dirname(this.file), { recursive: true })
    writeFileSync(this.file, JSON.stringify(state, null, 2) + '\n')
  }

  private key(dir: string): string {
    try {
      return realpathSync(dir)
    } catch {
      return dir
    }
  }

  isTrusted(dir: string): boolean {
    return this.read().trusted.includes(this.key(dir))
  }

  trust(dir: string): void {
    const state = this.read()
    const key = this.key(dir)
    if (!state.trusted.includes(key)) state.trusted.push(key)
    this.write(state)
  }

  untrust(dir: string): void {
    const state = this.read()
    state.trusted = state.trusted.filter((p) => p !== this.key(dir))
    this.write(state)
  }

  remember(dir: string, name: string): void {
    const state = this.read()
    const key = this.key(dir)
    state.recent = [{ path: key, name, openedAt: Date.now() }, ...state.recent.filter((r) => r.path !== key)].slice(0, 12)
    this.write(state)
  }

  recent(): Array<{ path: string; name: string; openedAt: number }> {
    return this.read().recent.filter((r) => existsSync(r.path))
  }
}
