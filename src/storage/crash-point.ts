/**
 * A test-only crash switch (chaos scenario 5, crash points): the write paths call `crashPoint('name')` at the moments
 * a crash would hurt most (a temp file written but not renamed, a state file renamed but not yet acted on...). Off
 * unless a process configured it once at start (`configureCrashPoint('piece-store:renamed:3')`, from the test switch
 * CAIRN_FAULT_CRASH_AT read by src/cli): then the process SIGKILLs itself on the n-th hit of that one point, as a
 * power cut or an OOM kill would, with no chance to clean up. Off, a call costs one comparison.
 */
import { InvalidArgumentError } from '../errors.ts'

/** Every crash point of the product, by the file that holds it. */
export const CRASH_POINTS = [
  /** src/storage/fs-piece-store.ts: a piece (or usage.json) written and fsynced in tmp/, not yet renamed into place. */
  'piece-store:temp-written',
  /** src/storage/fs-piece-store.ts: the piece renamed into place, its folder not yet fsynced nor its usage counted. */
  'piece-store:renamed',
  /** src/storage/durable-file.ts: a state file's temp copy fsynced, not yet renamed over the old one. */
  'durable-file:synced',
  /** src/node/json-state-file.ts: a node's JSON state file replaced, before the caller goes on. */
  'state-file:written',
  /** src/node/chain-service/market-book.ts: the chain service's book and block cursor saved. */
  'chain-cursor:saved',
  /** src/api/multipart-staging.ts: an S3 multipart part streamed to its temp file and fsynced, not yet accepted. */
  'multipart:part-synced',
  /** src/api/multipart-staging.ts: the part renamed to its final name, before the index records it. */
  'multipart:part-committed',
  /** src/client/file-records.ts: a file record (its capability) appended and fsynced, before put returns. */
  'file-records:appended',
] as const

export type CrashPointName = (typeof CRASH_POINTS)[number]

let armed: { point: CrashPointName; hit: number } | undefined
let hits = 0

/**
 * Arms the switch from its text `<point>:<n>` (crash on the n-th hit of `point`, n >= 1), or disarms it for ''.
 * Throws InvalidArgumentError naming the points when the text is not one.
 *
 * @example
 * ```ts
 * configureCrashPoint(options.faults.crashAt) // 'piece-store:renamed:3', or '' (off)
 * ```
 */
export function configureCrashPoint(spec: string): void {
  hits = 0
  armed = undefined
  if (spec === '') return
  const at = spec.lastIndexOf(':')
  const point = spec.slice(0, at)
  const hit = Number(spec.slice(at + 1))
  if (at < 0 || !(CRASH_POINTS as readonly string[]).includes(point) || !Number.isSafeInteger(hit) || hit < 1) {
    throw new InvalidArgumentError(
      `the crash switch CAIRN_FAULT_CRASH_AT must be <point>:<n> with n >= 1 and a point among ${CRASH_POINTS.join(', ')}; got '${spec}'`,
    )
  }
  armed = { point: point as CrashPointName, hit }
}

/**
 * A crash point of a write path: SIGKILLs this process on the armed hit of `name`; does nothing when the switch is
 * off (the default) or armed for another point.
 *
 * @example
 * ```ts
 * await rename(tmp, path)
 * crashPoint('piece-store:renamed')
 * ```
 */
export function crashPoint(name: CrashPointName): void {
  if (armed === undefined || armed.point !== name) return
  hits++
  if (hits === armed.hit) process.kill(process.pid, 'SIGKILL')
}
