/**
 * What a storage node needs to prove a slot: checks that it holds every piece of the slot and that they hash to the
 * slot root, caches the slot's Merkle leaf hashes durably in its data dir (so an epoch's proof reads one leaf, not the
 * whole slot), and cuts the challenged leaf from the concatenated pieces.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { NotFoundError } from '../../errors.ts'
import {
  decodeManifest,
  type Manifest,
  MERKLE_LEAF_SIZE,
  manifestPieceCid,
  merklePackedLevels,
  merklePackedProof,
  type PieceStore,
  pieceSize,
  slotMerkleLevels,
  slotPieces,
  writeFileDurable,
} from '../../storage/index.ts'
import type { AbortOptions } from '../index.ts'

export interface SlotProverComponents {
  pieceStore: Pick<PieceStore, 'get' | 'has'>
}

export interface SlotProverInit {
  /** Folder of the cached leaf hashes (one file per manifest and slot). */
  cacheDir: string
}

/** A slot the node proves: the manifest it belongs to and its index. */
export interface SlotKey {
  manifestCid: string
  slotIndex: number
}

export interface SlotProver {
  /**
   * Checks that the node holds every piece of the slot and that their Merkle root equals `root` (hex) over `size`
   * bytes; caches the leaf hashes. Returns a reason when it does not hold the slot.
   */
  check(key: SlotKey, expected: { root: string; size: bigint }, options?: AbortOptions): Promise<string | undefined>
  /** The challenged leaf and its Merkle path. */
  prove(key: SlotKey, leafIndex: number, options?: AbortOptions): Promise<{ leaf: Uint8Array; proof: Uint8Array[] }>
  /** The CIDs of the slot's pieces in segment order (what a node heals before it proves again). */
  pieces(key: SlotKey, options?: AbortOptions): Promise<CID[]>
}

/**
 * Creates the slot prover of a node.
 *
 * @example
 * ```ts
 * const prover = createSlotProver({ pieceStore }, { cacheDir: join(dataDir, 'slots') })
 * const problem = await prover.check({ manifestCid, slotIndex: 0 }, { root: slot.root, size: slot.size })
 * const { leaf, proof } = await prover.prove({ manifestCid, slotIndex: 0 }, challenge.leafIndex)
 * ```
 */
export function createSlotProver(components: SlotProverComponents, init: SlotProverInit): SlotProver {
  const store = components.pieceStore
  const manifests = new Map<string, Manifest>()
  const levelsCache = new Map<string, Uint8Array[]>()

  const manifestOf = async (manifestCid: string, options: AbortOptions): Promise<Manifest> => {
    const known = manifests.get(manifestCid)
    if (known !== undefined) return known
    const cid = CID.parse(manifestCid)
    const bytes = await store.get(manifestPieceCid(cid), options)
    const manifest = decodeManifest(bytes, cid)
    manifests.set(manifestCid, manifest)
    return manifest
  }
  const cachePath = (key: SlotKey) => join(init.cacheDir, `${key.manifestCid}-${key.slotIndex}.leaves`)

  const readCachedLevels = async (key: SlotKey): Promise<Uint8Array[] | undefined> => {
    const id = `${key.manifestCid}:${key.slotIndex}`
    const cached = levelsCache.get(id)
    if (cached !== undefined) return cached
    try {
      const bytes = await readFile(cachePath(key))
      if (bytes.byteLength === 0 || bytes.byteLength % 32 !== 0) return undefined
      const levels = merklePackedLevels(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      levelsCache.set(id, levels)
      return levels
    } catch {
      return undefined
    }
  }

  /** The leaf hashes in one file (32 bytes each), written in one piece: temp file, fsync, rename. */
  /** The leaf hashes in one file (32 bytes each), written durably. */
  const writeCachedLevels = async (key: SlotKey, levels: Uint8Array[]): Promise<void> => {
    await writeFileDurable(cachePath(key), levels[0]!)
    levelsCache.set(`${key.manifestCid}:${key.slotIndex}`, levels)
  }

  return {
    async check(key, expected, options = {}) {
      let manifest: Manifest
      try {
        manifest = await manifestOf(key.manifestCid, options)
      } catch {
        return 'the manifest is not stored here'
      }
      const slot = manifest.slots[key.slotIndex]
      if (slot === undefined) return `the manifest has no slot ${key.slotIndex}`
      if (toHex(slot.root) !== expected.root.toLowerCase() || BigInt(slot.size) !== expected.size) {
        return 'the deal names another slot root or size than the manifest'
      }
      const cids = slotPieces(manifest, key.slotIndex)
      for (const cid of cids) {
        if (!(await store.has(cid, options))) return `piece ${cid} of the slot is missing`
      }
      const cached = await readCachedLevels(key)
      const levels =
        cached ??
        (await slotMerkleLevels(
          (async function* () {
            for (const cid of cids) yield await store.get(cid, options)
          })(),
        ))
      if (toHex(levels.at(-1)!) !== expected.root.toLowerCase()) return 'the pieces held do not hash to the slot root'
      if (cached === undefined) await writeCachedLevels(key, levels)
      return undefined
    },

    async prove(key, leafIndex, options = {}) {
      const manifest = await manifestOf(key.manifestCid, options)
      let levels = await readCachedLevels(key)
      if (levels === undefined) {
        const problem = await this.check(
          key,
          {
            root: toHex(manifest.slots[key.slotIndex]!.root),
            size: BigInt(manifest.slots[key.slotIndex]!.size),
          },
          options,
        )
        if (problem !== undefined) throw new NotFoundError(`cannot prove slot ${key.slotIndex}: ${problem}`)
        levels = (await readCachedLevels(key))!
      }
      const leaf = await readLeaf(manifest, key.slotIndex, leafIndex, options)
      return { leaf, proof: merklePackedProof(levels, leafIndex) }
    },

    async pieces(key, options = {}) {
      const manifest = await manifestOf(key.manifestCid, options)
      return slotPieces(manifest, key.slotIndex)
    },
  }

  /** Cuts leaf `leafIndex` from the slot's pieces concatenated in segment order. */
  async function readLeaf(manifest: Manifest, slotIndex: number, leafIndex: number, options: AbortOptions) {
    const start = leafIndex * MERKLE_LEAF_SIZE
    const end = Math.min(start + MERKLE_LEAF_SIZE, manifest.slots[slotIndex]!.size)
    const leaf = new Uint8Array(Math.max(0, end - start))
    let offset = 0
    for (const segment of manifest.segments) {
      const size = pieceSize(segment.size, manifest.k)
      const pieceStart = offset
      offset += size
      if (offset <= start) continue
      if (pieceStart >= end) break
      const piece = await store.get(segment.pieces[slotIndex]!, options)
      const from = Math.max(start, pieceStart)
      const to = Math.min(end, offset)
      leaf.set(piece.subarray(from - pieceStart, to - pieceStart), from - start)
    }
    return leaf
  }
}

function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}
