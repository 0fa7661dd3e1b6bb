/**
 * The manifest: DAG-CBOR, content-addressed (CIDv1, dag-cbor 0x71, sha2-256). Layout of format version 2:
 *
 * ```
 * { version: 2, size, segmentSize, k, n,
 *   salt: bytes(16), keyCheck: bytes(16), metadata: bytes (encrypted, padded),
 *   segments: [{ size: ciphertext bytes, flags: 0|1, ciphertextHash: bytes(32), pieces: [CID x n] }, ...],
 *   slots: [{ root: bytes(32), size }, ...] }       // segments: max(1, ceil(size/segmentSize)); slots: n
 * ```
 * Each piece of a segment holds `pieceSize(segment.size, k)` bytes: the ciphertext is zero-padded to a multiple of
 * k x 1 KiB before erasure coding, so every piece is a whole number of Merkle leaves. `ciphertextHash` is the sha-256
 * of those padded bytes; with k = 1 each piece is them, so every piece CID must carry that digest. Version 1 (no
 * `ciphertextHash`) is refused: see `MANIFEST_VERSION`.
 */

import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { platform } from '#storage-platform'
import { InvalidArgumentError, InvalidManifestError, UnsupportedVersionError } from '../errors.ts'
import { bytesEqual } from './bytes-equal.ts'
import {
  FILE_SALT_SIZE,
  MANIFEST_VERSION,
  MAX_MANIFEST_SIZE,
  MAX_SEGMENT_SIZE,
  MAX_SHARDS,
  MERKLE_LEAF_SIZE,
  MIN_SEGMENT_SIZE,
  TAG_SIZE,
} from './constants.ts'
import type { Manifest, ManifestSegment, ManifestSlot } from './interface.ts'
import { isPieceCid, SHA2_256_CODE } from './piece-cid.ts'

export const DAG_CBOR_CODE = dagCbor.code

/** True when `cid` can name a manifest (v1, dag-cbor, sha2-256, 32-byte digest). */
export function isManifestCid(cid: unknown): boolean {
  const c = CID.asCID(cid)
  return (
    c !== null &&
    c.version === 1 &&
    c.code === DAG_CBOR_CODE &&
    c.multihash.code === SHA2_256_CODE &&
    c.multihash.size === 32
  )
}

/** Number of segments of a file of `size` plaintext bytes (an empty file has one empty segment). */
export function segmentCount(size: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(size / segmentSize))
}

/** Plaintext bytes of segment `index`. */
export function segmentPlaintextSize(manifest: Pick<Manifest, 'size' | 'segmentSize'>, index: number): number {
  return Math.max(0, Math.min(manifest.segmentSize, manifest.size - index * manifest.segmentSize))
}

/** Ciphertext length padded to a whole number of k x `MERKLE_LEAF_SIZE` bytes (what is erasure coded). */
export function paddedCiphertextSize(ciphertextSize: number, k: number): number {
  const unit = k * MERKLE_LEAF_SIZE
  return Math.max(unit, Math.ceil(ciphertextSize / unit) * unit)
}

/** Bytes of each piece of a segment whose ciphertext is `ciphertextSize` bytes. */
export function pieceSize(ciphertextSize: number, k: number): number {
  return paddedCiphertextSize(ciphertextSize, k) / k
}

/**
 * The piece CIDs of `slot`, in segment order: what the node holding that slot stores.
 *
 * @example
 * ```ts
 * for (const cid of slotPieces(manifest, 2)) await store.put(cid, await fetch(cid))
 * ```
 */
export function slotPieces(manifest: Manifest, slot: number): CID[] {
  if (!Number.isInteger(slot) || slot < 0 || slot >= manifest.n) {
    throw new InvalidArgumentError(`slot ${slot} is out of range: the file has ${manifest.n} slots`)
  }
  return manifest.segments.map((segment) => segment.pieces[slot]!)
}

function manifestCidOf(bytes: Uint8Array): CID {
  const digest = platform.sha256(bytes)
  return CID.createV1(DAG_CBOR_CODE, createDigest(SHA2_256_CODE, new Uint8Array(digest.buffer, digest.byteOffset, 32)))
}

/**
 * Encodes a manifest to DAG-CBOR and computes its CID. Validates it first (the same checks as `decodeManifest`).
 *
 * @example
 * ```ts
 * const { bytes, cid } = encodeManifest(manifest)
 * ```
 */
export function encodeManifest(manifest: Manifest): { bytes: Uint8Array; cid: CID } {
  const checked = validateManifest(manifest as unknown)
  const bytes = dagCbor.encode(checked)
  return { bytes, cid: manifestCidOf(bytes) }
}

/**
 * Decodes and validates manifest bytes. With `expectedCid`, the bytes must hash to it. Throws
 * `InvalidManifestError` (truncated, malformed, inconsistent, wrong CID) or `UnsupportedVersionError`.
 *
 * @example
 * ```ts
 * const manifest = decodeManifest(bytes, parseCapability(text).manifestCid)
 * ```
 */
export function decodeManifest(bytes: Uint8Array, expectedCid?: CID): Manifest {
  if (!(bytes instanceof Uint8Array)) throw new InvalidManifestError('manifest bytes must be a Uint8Array')
  if (bytes.byteLength > MAX_MANIFEST_SIZE) {
    throw new InvalidManifestError(`the manifest is ${bytes.byteLength} bytes, over the ${MAX_MANIFEST_SIZE} limit`)
  }
  if (expectedCid !== undefined) {
    const actual = manifestCidOf(bytes)
    if (actual.toString() !== expectedCid.toString()) {
      throw new InvalidManifestError(
        `the manifest bytes hash to ${actual.toString()}, not to ${expectedCid.toString()}: truncated or altered`,
        { details: { expected: expectedCid.toString(), actual: actual.toString() } },
      )
    }
  }
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (cause) {
    throw new InvalidManifestError(
      `the manifest is not valid DAG-CBOR (truncated or corrupt): ${(cause as Error).message ?? cause}`,
      { cause },
    )
  }
  return validateManifest(value)
}

const FIELDS = ['version', 'size', 'segmentSize', 'k', 'n', 'salt', 'keyCheck', 'metadata', 'segments', 'slots']

function fail(what: string): never {
  throw new InvalidManifestError(`invalid manifest: ${what}`)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && CID.asCID(v) === null
}

function integer(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`${name} must be an integer in [${min}, ${max}], got ${typeof v === 'number' ? v : typeof v}`)
  }
  return v
}

function bytesField(v: unknown, name: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${name} must be bytes`)
  if (length !== undefined && v.byteLength !== length) fail(`${name} must be ${length} bytes, got ${v.byteLength}`)
  return v
}

function validateManifest(value: unknown): Manifest {
  if (!isRecord(value)) fail('the top level is not a map')
  if (!('version' in value)) fail('it has no version field')
  const version = value.version
  if (version !== MANIFEST_VERSION) {
    if (typeof version === 'number' && Number.isInteger(version)) {
      const why =
        version === 1
          ? ': version 1 has no per-segment ciphertext hash, so its pieces could show different readers different bytes; upload the file again'
          : ''
      throw new UnsupportedVersionError(
        `manifest format version ${version} is not supported (this Cairn reads version ${MANIFEST_VERSION})${why}`,
        { details: { version } },
      )
    }
    fail('version must be an integer')
  }
  for (const key of Object.keys(value)) if (!FIELDS.includes(key)) fail(`unknown field '${key}'`)
  for (const key of FIELDS) if (!(key in value)) fail(`missing field '${key}'`)
  const size = integer(value.size, 'size', 0)
  const segmentSize = integer(value.segmentSize, 'segmentSize', MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)
  const k = integer(value.k, 'k', 1, MAX_SHARDS)
  const n = integer(value.n, 'n', k + 1, MAX_SHARDS)
  const salt = bytesField(value.salt, 'salt', FILE_SALT_SIZE)
  const keyCheck = bytesField(value.keyCheck, 'keyCheck', 16)
  const metadata = bytesField(value.metadata, 'metadata')
  if (metadata.byteLength < TAG_SIZE) fail('metadata is shorter than its authentication tag')
  if (!Array.isArray(value.segments)) fail('segments must be a list')
  const count = segmentCount(size, segmentSize)
  if (value.segments.length !== count) {
    fail(
      `a file of ${size} bytes in segments of ${segmentSize} has ${count} segments, the manifest lists ${value.segments.length}`,
    )
  }
  const slotSizes = new Array<number>(n).fill(0)
  const segments: ManifestSegment[] = value.segments.map((s: unknown, index: number) => {
    if (!isRecord(s)) fail(`segment ${index} is not a map`)
    const keys = Object.keys(s)
    if (keys.length !== 4 || !('size' in s) || !('flags' in s) || !('ciphertextHash' in s) || !('pieces' in s)) {
      fail(`segment ${index} must have exactly size, flags, ciphertextHash and pieces`)
    }
    const plain = segmentPlaintextSize({ size, segmentSize }, index)
    const flags = integer(s.flags, `segment ${index} flags`, 0, 1)
    const ciphertext = integer(s.size, `segment ${index} size`, TAG_SIZE, segmentSize + TAG_SIZE)
    if (flags === 0 && ciphertext !== plain + TAG_SIZE) {
      fail(`segment ${index} is stored raw, so its ciphertext is ${plain + TAG_SIZE} bytes, not ${ciphertext}`)
    }
    const ciphertextHash = bytesField(s.ciphertextHash, `segment ${index} ciphertextHash`, 32)
    if (!Array.isArray(s.pieces) || s.pieces.length !== n) fail(`segment ${index} must list ${n} piece CIDs`)
    const pieces = s.pieces.map((p: unknown, slot: number) => {
      const cid = CID.asCID(p)
      if (cid === null || !isPieceCid(cid)) fail(`segment ${index} slot ${slot} is not a piece CID (v1, raw, sha2-256)`)
      if (k === 1 && !bytesEqual(cid.multihash.digest, ciphertextHash)) {
        fail(
          `segment ${index} slot ${slot}: with k = 1 every piece is the padded ciphertext, so its CID must carry the segment's ciphertextHash`,
        )
      }
      slotSizes[slot]! += pieceSize(ciphertext, k)
      return cid
    })
    return { size: ciphertext, flags, ciphertextHash, pieces }
  })
  if (!Array.isArray(value.slots) || value.slots.length !== n) fail(`slots must be a list of ${n}`)
  const slots: ManifestSlot[] = value.slots.map((s: unknown, slot: number) => {
    if (!isRecord(s) || Object.keys(s).length !== 2 || !('root' in s) || !('size' in s)) {
      fail(`slot ${slot} must be a map of root and size`)
    }
    const root = bytesField(s.root, `slot ${slot} root`, 32)
    const slotSize = integer(s.size, `slot ${slot} size`, 0)
    if (slotSize !== slotSizes[slot])
      fail(`slot ${slot} size ${slotSize} is not the sum of its pieces (${slotSizes[slot]})`)
    return { root, size: slotSize }
  })
  return { version, size, segmentSize, k, n, salt, keyCheck, metadata, segments, slots }
}

/**
 * The raw-codec CID under which a manifest's bytes are stored on nodes (piece stores hold raw pieces; the multihash
 * is the manifest CID's, so the bytes are still checked against the manifest CID).
 */
export function manifestPieceCid(manifestCid: CID): CID {
  return CID.createV1(raw.code, manifestCid.multihash)
}
