/**
 * The message of anything thrown, for progress events and error text.
 *
 * @example
 * ```ts
 * onProgress({ type: 'get:fallback', peerId, cid, error: errorMessage(err) })
 * ```
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
