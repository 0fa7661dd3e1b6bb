/**
 * What a storage node needs to prove a slot: checks that it holds every piece of the slot and that they hash to the
 * slot root, keeps every level of the slot's Merkle tree in one durable file in its data dir, and at proof time reads
 * only the challenged leaf's path from that file (one 32-byte read per level: no tree in memory, whatever the slot's
 * size) and cuts the leaf from the slot's pieces. Every proof is verified against the slot root before it is returned:
 * a damaged cache is rebuilt from the pieces, and a piece that changed on disk fails the proof.
 *
 * The tree is built once per slot: from the leaf hashes taken as the pieces were received (piece-leaf-cache.ts) when
 * this process has them, else by reading the pieces. A later check (the node accepts a slot, then confirms the deal)
 * reuses the tree file when every piece is still present, the file's root is the slot root and one random leaf read
 * from the pieces verifies against the slot root with the file's path; otherwise it rebuilds. A proof that fails
 * rebuilds from the pieces on disk alone.
 */
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { CorruptDataError, NotFoundError } from '../../errors.ts'
import {
  decodeManifest,
  type HashedPiece,
  type Manifest,
  MERKLE_LEAF_SIZE,
  manifestPieceCid,
  merkleLeafCount,
  merkleVerify,
  type PieceStore,
  packedTreeBytes,
  pieceSize,
  slotMerkleLevels,
  slotPieces,
  writeFileDurable,
} from '../../storage/index.ts'
import type { AbortOptions } from '../index.ts'
import type { PieceLeafCache } from './piece-leaf-cache.ts'

export interface SlotProverComponents {
  pieceStore: Pick<PieceStore, 'get' | 'has'>
  /** Leaf hashes of the pieces as they were received: the tree is then built without reading the slot. */
  pieceLeaves?: Pick<PieceLeafCache, 'get' | 'delete'>
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
  // Manifests of the slots proven lately (a manifest can be large: at most MANIFESTS_KEPT are kept, least recent out).
  const manifests = new Map<string, Manifest>()

  const manifestOf = async (manifestCid: string, options: AbortOptions): Promise<Manifest> => {
    const known = manifests.get(manifestCid)
    if (known !== undefined) {
      manifests.delete(manifestCid)
      manifests.set(manifestCid, known)
      return known
    }
    const cid = CID.parse(manifestCid)
    const bytes = await store.get(manifestPieceCid(cid), options)
    const manifest = decodeManifest(bytes, cid)
    manifests.set(manifestCid, manifest)
    if (manifests.size > MANIFESTS_KEPT) manifests.delete(manifests.keys().next().value!)
    return manifest
  }
  const cachePath = (key: SlotKey) => join(init.cacheDir, `${key.manifestCid}-${key.slotIndex}.levels`)

  /** Every level of the tree, leaves first, in one file (32 bytes per node), written durably. */
  const writeCachedLevels = async (key: SlotKey, levels: Uint8Array[]): Promise<void> => {
    // the levels share one buffer (slotMerkleLevels): written as they lie, not copied (64 MiB per 1 GiB slot)
    await writeFileDurable(cachePath(key), packedTreeBytes(levels))
    // The leaf-only cache of earlier versions is not read any more.
    await rm(join(init.cacheDir, `${key.manifestCid}-${key.slotIndex}.leaves`), { force: true })
  }

  /**
   * True when the tree file of the slot can be trusted without a rebuild: whole, its root is the slot root, and a
   * random leaf read from the pieces verifies against the root with the file's path.
   */
  const cachedTreeHolds = async (key: SlotKey, manifest: Manifest, options: AbortOptions): Promise<boolean> => {
    const slot = manifest.slots[key.slotIndex]!
    const leafCount = merkleLeafCount(slot.size)
    const nodes = levelWidths(leafCount).reduce((sum, w) => sum + w, 0)
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(cachePath(key), 'r')
    } catch {
      return false
    }
    try {
      if ((await handle.stat()).size !== nodes * 32) return false
      const root = new Uint8Array(32)
      await handle.read(root, 0, 32, (nodes - 1) * 32)
      if (toHex(root) !== toHex(slot.root)) return false
    } finally {
      await handle.close()
    }
    const leafIndex = Math.floor(Math.random() * leafCount)
    const path = await readCachedPath(key, leafCount, leafIndex)
    const leaf = await readLeaf(manifest, key.slotIndex, leafIndex, options)
    return path !== undefined && merkleVerify(slot.root, leafIndex, leafCount, leaf, path)
  }

  /**
   * Checks that the slot is held and hashes to the slot root; writes its tree file. With `reuse`, a sound tree file
   * is kept and received leaf hashes are used; without, every piece is read from disk and hashed.
   */
  const inspect = async (
    key: SlotKey,
    expected: { root: string; size: bigint },
    options: AbortOptions,
    reuse: boolean,
  ): Promise<string | undefined> => {
    let manifest: Manifest
    try {
      manifest = await manifestOf(key.manifestCid, options)
    } catch (error) {
      return error instanceof NotFoundError
        ? 'the manifest is not stored here'
        : `the manifest cannot be read: ${(error as Error).message}`
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
    if (reuse && (await cachedTreeHolds(key, manifest, options))) return undefined
    const sizes = manifest.segments.map((segment) => pieceSize(segment.size, manifest.k))
    // Received leaf hashes stand for a piece only where its leaves are the slot's (every earlier piece whole leaves).
    const leafAligned = sizes.slice(0, -1).every((size) => size % MERKLE_LEAF_SIZE === 0)
    const received = reuse && leafAligned ? components.pieceLeaves : undefined
    const levels = await slotMerkleLevels(
      (async function* (): AsyncGenerator<Uint8Array | HashedPiece> {
        for (const [i, cid] of cids.entries()) {
          // Only a piece of the length the manifest implies (else its bytes decide, as they always did).
          const hashed = received?.get(cid)
          if (hashed !== undefined && hashed.size === sizes[i]) yield hashed
          else yield await store.get(cid, options)
        }
      })(),
    )
    // the received leaf hashes are folded: free them before the tree file is written (a failed check reads the disk)
    components.pieceLeaves?.delete(cids)
    if (toHex(levels.at(-1)!) !== expected.root.toLowerCase()) return 'the pieces held do not hash to the slot root'
    await writeCachedLevels(key, levels)
    return undefined
  }

  /** The Merkle path of leaf `leafIndex` read from the cache file, or undefined when there is no whole file. */
  const readCachedPath = async (key: SlotKey, leafCount: number, leafIndex: number) => {
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(cachePath(key), 'r')
    } catch {
      return undefined
    }
    try {
      const widths = levelWidths(leafCount)
      if ((await handle.stat()).size !== widths.reduce((sum, w) => sum + w, 0) * 32) return undefined
      const proof: Uint8Array[] = []
      let offset = 0
      let i = leafIndex
      for (const width of widths.slice(0, -1)) {
        const sibling = i ^ 1
        if (sibling < width) {
          const hash = new Uint8Array(32)
          await handle.read(hash, 0, 32, (offset + sibling) * 32)
          proof.push(hash)
        }
        offset += width
        i >>= 1
      }
      return proof
    } finally {
      await handle.close()
    }
  }

  return {
    check: (key, expected, options = {}) => inspect(key, expected, options, true),

    async prove(key, leafIndex, options = {}) {
      const manifest = await manifestOf(key.manifestCid, options)
      const slot = manifest.slots[key.slotIndex]
      if (slot === undefined)
        throw new NotFoundError(`cannot prove slot ${key.slotIndex}: the manifest has no such slot`)
      const leafCount = merkleLeafCount(slot.size)
      const leaf = await readLeaf(manifest, key.slotIndex, leafIndex, options)
      const cached = await readCachedPath(key, leafCount, leafIndex)
      if (cached !== undefined && merkleVerify(slot.root, leafIndex, leafCount, leaf, cached)) {
        return { leaf, proof: cached }
      }
      // No cache, a damaged one, or a changed piece: rebuild the tree from the pieces and try once more.
      const problem = await inspect(key, { root: toHex(slot.root), size: BigInt(slot.size) }, options, false)
      if (problem !== undefined) throw new NotFoundError(`cannot prove slot ${key.slotIndex}: ${problem}`)
      const fresh = await readLeaf(manifest, key.slotIndex, leafIndex, options)
      const proof = await readCachedPath(key, leafCount, leafIndex)
      if (proof === undefined || !merkleVerify(slot.root, leafIndex, leafCount, fresh, proof)) {
        throw new CorruptDataError(
          `cannot prove slot ${key.slotIndex} of ${key.manifestCid}: leaf ${leafIndex} read from the pieces does not match the slot root`,
        )
      }
      return { leaf: fresh, proof }
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

/** Manifests a prover keeps decoded in memory. */
const MANIFESTS_KEPT = 64

/** The number of nodes of each level of a slot tree of `leafCount` leaves, leaves first (an odd last node moves up). */
function levelWidths(leafCount: number): number[] {
  const widths = [leafCount]
  while (widths.at(-1)! > 1) widths.push((widths.at(-1)! + 1) >> 1)
  return widths
}

function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}
