/**
 * Piece addressing on the wire: CIDv1, raw codec, sha2-256 (as the storage layer writes them).
 * Kept local to net until src/storage exports `pieceCid`.
 */

import { equals } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** True when `cid` is a CIDv1 raw sha2-256 address, the only kind of piece address Cairn accepts. */
export function isPieceCid(cid: CID): boolean {
  return cid.version === 1 && cid.code === raw.code && cid.multihash.code === sha256.code
}

/**
 * CID of a piece's bytes.
 *
 * @example
 * ```ts
 * const cid = await pieceCidOf(new TextEncoder().encode('hello'))
 * ```
 */
export async function pieceCidOf(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes))
}

/** True when `bytes` hash to `cid` (and `cid` is a piece CID). */
export async function piecesMatch(cid: CID, bytes: Uint8Array): Promise<boolean> {
  if (!isPieceCid(cid)) return false
  const digest = await sha256.digest(bytes)
  return equals(digest.digest, cid.multihash.digest)
}
