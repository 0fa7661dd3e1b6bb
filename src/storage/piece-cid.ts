/**
 * Piece addressing: CIDv1, raw codec (0x55), sha2-256 multihash. Hashing uses node:crypto in Node (SHA-NI, about 2 GB/s)
 * and builds the same CID multiformats' sha256 hasher would.
 */

import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { platform } from '#storage-platform'
import { CorruptDataError, InvalidArgumentError } from '../errors.ts'
import { bytesEqual } from './bytes-equal.ts'

/** Multihash code of sha2-256. */
export const SHA2_256_CODE = 0x12
export const RAW_CODE = raw.code

/**
 * The CID of a piece.
 *
 * @example
 * ```ts
 * const cid = pieceCid(new TextEncoder().encode('hello'))
 * cid.toString() // 'bafkrei...'
 * ```
 */
export function pieceCid(bytes: Uint8Array): CID {
  const digest = platform.sha256(bytes)
  return CID.createV1(raw.code, createDigest(SHA2_256_CODE, new Uint8Array(digest.buffer, digest.byteOffset, 32)))
}

/** True when `cid` has the shape of a piece CID (v1, raw, sha2-256, 32-byte digest). */
export function isPieceCid(cid: CID): boolean {
  return cid.version === 1 && cid.code === raw.code && cid.multihash.code === SHA2_256_CODE && cid.multihash.size === 32
}

/**
 * Pieces a receiver checked and handed on, each to the CID it matched. The next `verifyPiece` of the same bytes object
 * and CID in this process takes that check instead of hashing again, once: a piece is hashed once per process on its
 * way from the network to the disk or the decoder. Weak: an entry goes with its bytes.
 */
const handedOff = new WeakMap<Uint8Array, CID>()

/** Options of `verifyPiece`. */
export interface VerifyPieceOptions {
  /**
   * The caller hands `bytes` on unchanged to code that verifies them again (the piece store, the decoder): that next
   * check of this object against this CID is skipped, once.
   */
  handOff?: boolean
}

/**
 * Throws `CorruptDataError` (details: `cid`, `size`) unless `bytes` hash to `cid`.
 *
 * @example
 * ```ts
 * verifyPiece(cid, bytes) // returns quietly, or throws CorruptDataError
 * ```
 */
export function verifyPiece(cid: CID, bytes: Uint8Array, options: VerifyPieceOptions = {}): void {
  if (!isPieceCid(cid)) {
    throw new InvalidArgumentError(`${cid.toString()} is not a piece CID (expected CIDv1, raw codec, sha2-256)`)
  }
  const checked = handedOff.get(bytes)
  handedOff.delete(bytes)
  if (checked === undefined || !checked.equals(cid)) {
    if (!bytesEqual(platform.sha256(bytes), cid.multihash.digest)) {
      throw new CorruptDataError(
        `piece ${cid.toString()} is corrupt: its ${bytes.byteLength} bytes hash to another CID`,
        {
          details: { cid: cid.toString(), size: bytes.byteLength },
        },
      )
    }
  }
  if (options.handOff === true) handedOff.set(bytes, cid)
}
