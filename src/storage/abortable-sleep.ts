/** A timer that an abort signal cuts short: the one pause of long-running loops (repair throttle, watch refresh). */

/**
 * Waits `ms` milliseconds, or less when `signal` aborts (at once if it already has). Never rejects: the caller looks
 * at its signal afterwards. Clears its timer and removes its listener either way.
 *
 * @example
 * ```ts
 * while (!signal.aborted) {
 *   await poll()
 *   await abortableSleep(1_000, signal)
 * }
 * ```
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
