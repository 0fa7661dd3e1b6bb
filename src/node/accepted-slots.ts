/**
 * The slot acceptances a node signed, kept durably in its data dir (one file per acceptance under accepted-slots/):
 * the node confirms on chain only a slot it accepted, and the garbage collector keeps the pieces of accepted slots.
 */
import { createHash } from 'node:crypto'
import { access, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { mkdirDurable, syncFolder, writeFileDurable } from '../storage/index.ts'

/** Folder of the signed acceptances in a node's data dir. */
export const ACCEPTED_SLOTS_DIR = 'accepted-slots'

/** What identifies an accepted slot on chain: the deal's owner, its manifest, the slot's index, root and size. */
export interface AcceptedSlotKey {
  client: string
  manifestCid: string
  slotIndex: number
  root: string
  size: bigint
}

/** One signed acceptance as stored (amounts as decimal strings). */
export interface AcceptedSlotRecord {
  client: string
  manifestCid: string
  slotIndex: number
  root: string
  size: string
  maxPricePerByteEpoch: string
  durationEpochs: number
  nonce: string
  /** Unix seconds: the last second the Market takes it. */
  expiry: number
  signature: string
  /** The libp2p peer that asked for it. */
  peer: string
  acceptedAt: number
}

/** The file name of an accepted slot: a hash of its key (lower-case hex fields). */
export function acceptedSlotId(key: AcceptedSlotKey): string {
  const text = [key.client.toLowerCase(), key.manifestCid, key.slotIndex, key.root.toLowerCase(), key.size].join('|')
  return createHash('sha256').update(text).digest('hex')
}

/** The acceptances of one node's data dir. */
export class AcceptedSlots {
  readonly #dir: string

  constructor(dataDir: string) {
    this.#dir = join(dataDir, ACCEPTED_SLOTS_DIR)
  }

  /** Stores a signed acceptance durably (before its signature leaves the node). */
  async record(record: AcceptedSlotRecord): Promise<void> {
    await mkdirDurable(this.#dir)
    const id = acceptedSlotId({ ...record, size: BigInt(record.size) })
    await writeFileDurable(join(this.#dir, `${id}.json`), `${JSON.stringify(record)}\n`)
  }

  /** True when this node signed an acceptance of the slot. */
  async has(key: AcceptedSlotKey): Promise<boolean> {
    try {
      await access(join(this.#dir, `${acceptedSlotId(key)}.json`))
      return true
    } catch {
      return false
    }
  }

  /** Deletes a stored acceptance (the garbage collector, once it expired unused): durable once it resolves. */
  async remove(key: AcceptedSlotKey): Promise<void> {
    await rm(join(this.#dir, `${acceptedSlotId(key)}.json`), { force: true })
    await syncFolder(this.#dir).catch(() => {})
  }

  /** Every stored acceptance (unreadable files skipped). */
  async list(): Promise<AcceptedSlotRecord[]> {
    let names: string[]
    try {
      names = (await readdir(this.#dir)).filter((name) => name.endsWith('.json'))
    } catch {
      return []
    }
    const records: AcceptedSlotRecord[] = []
    for (const name of names) {
      try {
        records.push(JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as AcceptedSlotRecord)
      } catch {}
    }
    return records
  }
}
