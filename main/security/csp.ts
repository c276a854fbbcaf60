/** Where the renderer is allowed to connect: nothing but its own origin (and, in a browser host, its WebSocket). */
export interface CspOptions {
  /** Extra origins for connect-src, e.g. `ws://127.0.0.1:4321`. */
  connect?: string[]
  /** A development server URL (electron-vite dev); scripts may then come from it. */
  devServer?: string
}

/**
 * The Content-Security-Policy of every page the workbench shows. No remote content, no inline scripts, no eval.
 * Monaco needs data: images (its squiggles), blob: workers and inline styles.
 */
export function contentSecurityPolicy(options: CspOptions = {}): string {
  const dev = options.devServer ? [options.devServer] : []
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...dev],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'", 'data:'],
    'worker-src': ["'self'", 'blob:'],
    'connect-src': ["'self'", ...(options.connect ?? []), ...dev],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"]
  }
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ')
}
