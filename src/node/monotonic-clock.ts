/**
 * The node's two clocks. Intervals and local deadlines (retry times, back-offs, cache ages, timeouts, uptime) are
 * measured on the monotonic clock, `performance.now()`: an NTP step, a VM resume or an admin's `date -s` moves the
 * wall clock, not this one, so a step neither fires a deadline early nor puts it off by the size of the step. The wall
 * clock (`Date.now()`) stays for what leaves the process: a signed expiry, a time written to disk, a log line, a
 * time shown to a user. A time that must outlive the process is written as wall time and read back with
 * `monotonicFromWall` (its age as the wall clock tells it when read, from then on on the monotonic clock).
 */

/**
 * Milliseconds on the monotonic clock (an arbitrary origin: compare two readings, never show one).
 *
 * @example
 * ```ts
 * const started = monotonicNow()
 * if (monotonicNow() - started > 30_000) retry()
 * ```
 */
export function monotonicNow(): number {
  return performance.now()
}

/**
 * The monotonic time of a wall-clock timestamp (ms since the Unix epoch, e.g. read from a state file): now minus
 * its age, an age below zero (a timestamp in the future) counted as zero.
 *
 * @example
 * ```ts
 * file.adoptingSince = monotonicFromWall(record.adoptingSince)
 * ```
 */
export function monotonicFromWall(wallMs: number): number {
  return monotonicNow() - Math.max(0, Date.now() - wallMs)
}

/**
 * The wall-clock timestamp (ms since the Unix epoch) of a monotonic time of this process, to write to disk or send.
 *
 * @example
 * ```ts
 * const record = { adoptingSince: wallFromMonotonic(file.adoptingSince) }
 * ```
 */
export function wallFromMonotonic(monotonicMs: number): number {
  return Date.now() - (monotonicNow() - monotonicMs)
}
