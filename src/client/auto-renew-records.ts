/**
 * The deals this machine renews before they end (`cairn put --auto-renew` adds one; `cairn renew --due` and the
 * gateway read them): a small JSON file in the client's folder, written durably (temp file, fsync, rename).
 */
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { mkdirDurable, writeFileDurable } from '../storage/index.ts'
import type { AutoRenewEntry } from './renew.ts'

/** The file of auto-renewed deals, relative to the client's folder. */
export const AUTO_RENEW_RECORD = 'auto-renew.json'

/** The deals marked for auto-renewal. */
export interface AutoRenewRecords {
  list(): Promise<AutoRenewEntry[]>
  /** Adds or replaces (by deal ID) an entry. */
  add(entry: AutoRenewEntry): Promise<void>
  /** Drops a deal (it ended, or the user stopped renewing it). */
  remove(dealId: string): Promise<void>
}

/**
 * The auto-renewal list kept in `path` (JSON). A missing file is an empty list; a damaged one is an error naming the
 * file, never silently dropped (it decides which files stay stored).
 *
 * @example
 * ```ts
 * const records = createAutoRenewRecords(join(home, AUTO_RENEW_RECORD))
 * await records.add({ dealId: '7', manifestCid, extraEpochs: 1_000, renewWithinEpochs: 100 })
 * ```
 */
export function createAutoRenewRecords(path: string): AutoRenewRecords {
  let queue: Promise<unknown> = Promise.resolve()
  const read = async (): Promise<AutoRenewEntry[]> => {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const value = JSON.parse(text) as { deals?: unknown }
    if (!Array.isArray(value.deals)) throw new Error(`${path} has no "deals" list: fix or remove the file`)
    return value.deals.filter(isEntry)
  }
  const write = async (deals: AutoRenewEntry[]) => {
    await mkdirDurable(dirname(path), { mode: 0o700 })
    await writeFileDurable(path, `${JSON.stringify({ deals }, null, 1)}\n`)
  }
  /** One change at a time: two adds in one process must not lose one. */
  const change = (fn: (deals: AutoRenewEntry[]) => AutoRenewEntry[]) => {
    const next = queue.then(async () => write(fn(await read())))
    queue = next.catch(() => {})
    return next
  }
  return {
    list: read,
    add: (entry) => change((deals) => [...deals.filter((d) => d.dealId !== entry.dealId), entry]),
    remove: (dealId) => change((deals) => deals.filter((d) => d.dealId !== dealId)),
  }
}

function isEntry(value: unknown): value is AutoRenewEntry {
  const e = value as AutoRenewEntry
  return (
    typeof e === 'object' &&
    e !== null &&
    /^\d+$/.test(String(e.dealId)) &&
    typeof e.manifestCid === 'string' &&
    Number.isInteger(e.extraEpochs) &&
    e.extraEpochs > 0 &&
    Number.isInteger(e.renewWithinEpochs) &&
    e.renewWithinEpochs > 0
  )
}
