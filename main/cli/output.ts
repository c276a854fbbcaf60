import { RpcError } from '../../shared/rpc/errors'

/** Writes to stdout, waiting when the pipe is full so memory stays flat on large outputs. */
export function writeOut(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()))
}

export class UsageError extends Error {}

/** The exit code and message for an error: 2 for usage, 1 otherwise; the message names what went wrong. */
export function describeFailure(error: unknown): { code: number; message: string } {
  if (error instanceof UsageError) return { code: 2, message: error.message }
  if (error instanceof RpcError) return { code: 1, message: `${error.code}: ${error.message}` }
  return { code: 1, message: error instanceof Error ? error.message : String(error) }
}

/** Reads stdin (or a file stream) line by line. */
export async function* readLines(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  const { createInterface } = await import('node:readline')
  for await (const line of createInterface({ input, crlfDelay: Infinity })) yield line
}
