import { UnreachableError } from '../errors.ts'
import { DEFAULT_CONTROL_TIMEOUT_MS } from './constants.ts'
import type { AbortOptions } from './interface.ts'

/**
 * GETs `path` from a node's control API and parses the JSON answer. Throws `UnreachableError` when the node does not
 * answer in time or answers with an error status.
 *
 * @example
 * ```ts
 * const peers = await controlRequest<PeerView[]>('http://127.0.0.1:41234', '/peers')
 * ```
 */
export async function controlRequest<T>(
  api: string,
  path: string,
  options: AbortOptions & { timeoutMs?: number } = {},
): Promise<T> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
  let response: Response
  try {
    response = await fetch(new URL(path, api), { signal })
  } catch (err) {
    throw new UnreachableError(`the node's control API at ${api} does not answer: is the node running?`, {
      cause: err,
    })
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '')
    throw new UnreachableError(`the control API at ${api} answered ${response.status} to ${path}: ${text.trim()}`)
  }
  return (await response.json()) as T
}
