/**
 * An in-memory piece store for tests and short-lived tools: same contract as the disk store (verified writes and
 * reads, quota, usage), nothing survives the process.
 */
import type { CID } from 'multiformats/cid'
import { InvalidArgumentError, NotFoundError, QuotaExceededError, throwIfAborted } from '../errors.ts'
import type { AbortOptions, PieceStore, StoreUsage } from './interface.ts'
import { isPieceCid, verifyPiece } from './piece-cid.ts'

export interface MemoryPieceStoreInit {
  /** Bytes of piece data the store may hold; unlimited by default. */
  quota?: number
}

function checkCid(cid: CID): string {
  if (!isPieceCid(cid)) throw new InvalidArgumentError(`${String(cid)} is not a piece CID (CIDv1, raw, sha2-256)`)
  return cid.toString()
}

class MemoryPieceStore implements PieceStore {
  readonly #pieces = new Map<string, { cid: CID; bytes: Uint8Array }>()
  readonly #quota: number
  #bytes = 0

  constructor(init: MemoryPieceStoreInit) {
    this.#quota = init.quota ?? Number.POSITIVE_INFINITY
  }

  async put(cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    const key = checkCid(cid)
    verifyPiece(cid, bytes)
    if (this.#pieces.has(key)) return
    if (this.#bytes + bytes.byteLength > this.#quota) {
      throw new QuotaExceededError(
        `storing ${bytes.byteLength} bytes would pass the quota of ${this.#quota} (${this.#bytes} used)`,
        { details: { quota: this.#quota, used: this.#bytes, size: bytes.byteLength } },
      )
    }
    this.#pieces.set(key, { cid, bytes: Uint8Array.from(bytes) })
    this.#bytes += bytes.byteLength
  }

  async get(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    throwIfAborted(options.signal)
    const entry = this.#pieces.get(checkCid(cid))
    if (entry === undefined) throw new NotFoundError(`piece ${cid.toString()} is not in this store`)
    verifyPiece(cid, entry.bytes)
    return Uint8Array.from(entry.bytes)
  }

  async has(cid: CID, options: AbortOptions = {}): Promise<boolean> {
    throwIfAborted(options.signal)
    return this.#pieces.has(checkCid(cid))
  }

  async delete(cid: CID, options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    const key = checkCid(cid)
    const entry = this.#pieces.get(key)
    if (entry === undefined) return
    this.#pieces.delete(key)
    this.#bytes -= entry.bytes.byteLength
  }

  async *list(options: AbortOptions = {}): AsyncIterable<CID> {
    for (const { cid } of [...this.#pieces.values()]) {
      throwIfAborted(options.signal)
      yield cid
    }
  }

  usage(): StoreUsage {
    return { pieces: this.#pieces.size, bytes: this.#bytes, quota: this.#quota }
  }
}

/**
 * Creates an in-memory piece store.
 *
 * @example
 * ```ts
 * const store = createMemoryPieceStore({ quota: 1 << 30 })
 * await store.put(pieceCid(bytes), bytes)
 * ```
 */
export function createMemoryPieceStore(init: MemoryPieceStoreInit = {}): PieceStore {
  if (init.quota !== undefined && !(init.quota >= 0)) throw new InvalidArgumentError('quota must be >= 0')
  return new MemoryPieceStore(init)
}
