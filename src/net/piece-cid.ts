/**
 * Piece addressing on the wire: CIDv1, raw codec, sha2-256, exactly as the storage layer writes them.
 * Thin async-free wrappers over src/storage's `pieceCid`/`verifyPiece` in the shape the protocol code wants.
 */
import type { CID } from 'multiformats/cid'
import { CorruptDataError } from '../errors.ts'
import { isPieceCid, pieceCid, verifyPiece } from '../storage/index.ts'

export { isPieceCid }

/**
 * CID of a piece's bytes.
 *
 * @example
 * ```ts
 * const cid = pieceCidOf(new TextEncoder().encode('hello'))
 * ```
 */
export function pieceCidOf(bytes: Uint8Array): CID {
  return pieceCid(bytes)
}

/**
 * True when `bytes` hash to `cid` (and `cid` is a piece CID). The bytes are handed on checked: the store or decoder
 * that receives them next does not hash them again (src/storage's `verifyPiece`, `handOff`).
 */
export function piecesMatch(cid: CID, bytes: Uint8Array): boolean {
  if (!isPieceCid(cid)) return false
  try {
    verifyPiece(cid, bytes, { handOff: true })
    return true
  } catch (error) {
    if (error instanceof CorruptDataError) return false
    throw error
  }
}
