/**
 * The one poll of the tests: waits for a condition that another process, a timer or the network makes true. Never a
 * sleep to order events: a test waits for the state it needs, and fails naming it.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` every 100 ms until it returns a value other than undefined or false, and returns that value; throws
 * `timed out after MS ms waiting for WHAT` (with the last error `check` threw) after `timeoutMs`.
 *
 * @example
 * ```ts
 * const line = await waitFor(async () => (await readLog()).find(isReady), 10_000, 'the ready line')
 * await waitFor(() => node.isConnected(), 5_000, 'the nodes to connect')
 * ```
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      last = err
    }
    await sleep(100)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`)
}
