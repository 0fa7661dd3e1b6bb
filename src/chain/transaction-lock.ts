/**
 * One account's transactions, one process at a time: a lock file (created exclusively, holding the holder's pid, host
 * and start time) that every process of the account takes around its turn (build, sign, send, wait for the receipt).
 * Parallel `cairn put`s of one wallet then never sign the same account or permit nonce. A lock whose process is gone
 * (same host) or that is older than `staleMs` is taken over; a live lock is waited for at most `waitMs`.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { AbortedError, TimeoutError } from '../errors.ts'
import { DEFAULT_TRANSACTION_TIMEOUT_MS } from './constants.ts'

/** A held lock older than this is stale even when its process still runs: a turn ends within the transaction timeout. */
export const DEFAULT_TRANSACTION_LOCK_STALE_MS = DEFAULT_TRANSACTION_TIMEOUT_MS + 60_000
/** How long a process waits for another's turn before it gives up naming the lock file. */
export const DEFAULT_TRANSACTION_LOCK_WAIT_MS = 300_000
/** A lock file with no readable holder (its writer died between create and write) is stale after this. */
const UNREADABLE_STALE_MS = 5_000

export interface TransactionLockInit {
  /** How long to wait for a live holder, ms (default DEFAULT_TRANSACTION_LOCK_WAIT_MS). */
  waitMs?: number
  /** Age after which a holder is presumed dead, ms (default DEFAULT_TRANSACTION_LOCK_STALE_MS). */
  staleMs?: number
  signal?: AbortSignal
}

interface Holder {
  pid: number
  host: string
  time: number
  token: string
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>
    if (typeof value.pid !== 'number' || typeof value.time !== 'number' || typeof value.token !== 'string') return
    return { pid: value.pid, host: String(value.host ?? ''), time: value.time, token: value.token }
  } catch {
    return undefined
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function tryCreate(path: string, holder: Holder): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    await handle.writeFile(JSON.stringify(holder))
  } finally {
    await handle.close()
  }
  return true
}

/** Why the lock at `path` may be taken over, or undefined while its holder is alive and within `staleMs`. */
function staleReason(text: string, modifiedMs: number, staleMs: number): string | undefined {
  const holder = parseHolder(text)
  const now = Date.now()
  if (holder === undefined) return now - modifiedMs > UNREADABLE_STALE_MS ? 'unreadable' : undefined
  if (holder.host === hostname() && !processAlive(holder.pid)) return `process ${holder.pid} is gone`
  if (now - holder.time > staleMs) return `held for over ${Math.round(staleMs / 1000)} s`
  return undefined
}

/** Removes a stale lock, unless another process replaced it meanwhile (then puts that one back). */
async function removeStale(path: string, judged: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = await readFile(aside, 'utf8').catch(() => judged)
  if (moved !== judged) await link(aside, path).catch(() => {})
  await unlink(aside).catch(() => {})
}

async function describeHolder(path: string): Promise<string> {
  const holder = parseHolder(await readFile(path, 'utf8').catch(() => ''))
  return holder === undefined
    ? 'another process'
    : `process ${holder.pid} on ${holder.host} since ${new Date(holder.time).toISOString()}`
}

/**
 * Takes the lock file at `path` (creating its folder), waiting while another live process holds it, and resolves with
 * the function that releases it. Throws TimeoutError naming the file when it stays held longer than `waitMs`.
 *
 * @example
 * ```ts
 * const release = await acquireTransactionLock(join(home, 'wallet-0xabc.lock'))
 * try { await send() } finally { await release() }
 * ```
 */
export async function acquireTransactionLock(
  path: string,
  init: TransactionLockInit = {},
): Promise<() => Promise<void>> {
  const waitMs = init.waitMs ?? DEFAULT_TRANSACTION_LOCK_WAIT_MS
  const staleMs = init.staleMs ?? DEFAULT_TRANSACTION_LOCK_STALE_MS
  await mkdir(dirname(path), { recursive: true })
  const holder: Holder = { pid: process.pid, host: hostname(), time: Date.now(), token: randomBytes(8).toString('hex') }
  const deadline = Date.now() + waitMs
  let pause = 20
  while (true) {
    if (init.signal?.aborted === true) throw new AbortedError('waiting for the transaction lock was cancelled')
    holder.time = Date.now()
    if (await tryCreate(path, holder)) break
    const handle = await open(path, 'r').catch(() => undefined)
    if (handle !== undefined) {
      const [text, stat] = await Promise.all([handle.readFile('utf8'), handle.stat()]).finally(() => handle.close())
      if (staleReason(text, stat.mtimeMs, staleMs) !== undefined) {
        await removeStale(path, text)
        continue
      }
    }
    if (Date.now() >= deadline) {
      throw new TimeoutError(
        `the wallet's transaction lock ${path} is held by ${await describeHolder(path)} for over ${Math.round(waitMs / 1000)} s: wait for that cairn command to finish, or remove ${path} if no cairn process is running`,
        { details: { path } },
      )
    }
    await new Promise((resolve) => setTimeout(resolve, pause))
    pause = Math.min(pause * 2, 250)
  }
  return async () => {
    const text = await readFile(path, 'utf8').catch(() => '')
    if (parseHolder(text)?.token === holder.token) await unlink(path).catch(() => {})
  }
}
