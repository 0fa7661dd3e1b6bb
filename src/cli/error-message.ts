import { CairnError } from '../errors.ts'

/** Exit codes of `cairn`, stable for scripts. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_NOT_ENOUGH_NODES = 3
export const EXIT_UNREACHABLE = 4
export const EXIT_DATA = 5
export const EXIT_INTERRUPTED = 130

const EXIT_BY_CODE: Record<string, number> = {
  ERR_INVALID_ARGUMENT: EXIT_USAGE,
  ERR_INVALID_CAPABILITY: EXIT_USAGE,
  ERR_NOT_ENOUGH_NODES: EXIT_NOT_ENOUGH_NODES,
  ERR_UNREACHABLE: EXIT_UNREACHABLE,
  ERR_TIMEOUT: EXIT_UNREACHABLE,
  ERR_NOT_FOUND: EXIT_UNREACHABLE,
  ERR_NOT_ENOUGH_PIECES: EXIT_DATA,
  ERR_CORRUPT_DATA: EXIT_DATA,
  ERR_DECRYPTION_FAILED: EXIT_DATA,
  ERR_INVALID_MANIFEST: EXIT_DATA,
  ERR_UNSUPPORTED_VERSION: EXIT_DATA,
  ERR_QUOTA_EXCEEDED: EXIT_FAILURE,
  ERR_ABORTED: EXIT_INTERRUPTED,
}

/**
 * Turns any thrown value into the one line the CLI prints (never a stack trace) and its exit code.
 * Set `CAIRN_DEBUG=1` to get the stack as well.
 *
 * @example
 * ```ts
 * const { line, exitCode } = describeError(new NotEnoughNodesError('only 2 live nodes ...'))
 * ```
 */
export function describeError(err: unknown): { line: string; exitCode: number; code: string } {
  if (err instanceof CairnError) {
    return { line: `error: ${oneLine(err.message)}`, exitCode: EXIT_BY_CODE[err.code] ?? EXIT_FAILURE, code: err.code }
  }
  const code = (err as { code?: unknown })?.code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
    const e = err as NodeJS.ErrnoException
    const what = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'is a folder',
      ENOTDIR: 'not a folder',
      EEXIST: 'already exists',
    }[code]
    return { line: `error: ${what}: ${e.path ?? ''}`.trimEnd(), exitCode: EXIT_FAILURE, code }
  }
  if (code === 'EPIPE') return { line: 'error: the output was closed early', exitCode: EXIT_FAILURE, code }
  if ((err as Error)?.name === 'AbortError')
    return { line: 'error: interrupted', exitCode: EXIT_INTERRUPTED, code: 'ERR_ABORTED' }
  const message = err instanceof Error ? err.message : String(err)
  return {
    line: `error: ${oneLine(message)}`,
    exitCode: EXIT_FAILURE,
    code: typeof code === 'string' ? code : 'ERR_UNEXPECTED',
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
