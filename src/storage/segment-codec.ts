/**
 * The per-segment work, synchronous so it can run on the calling thread or in a worker:
 * encode = compress -> encrypt (zero-padded to k x 1 KiB) -> erasure code -> hash each piece (CID digest and its
 * Merkle leaf hashes), and hash the padded ciphertext (the manifest's `ciphertextHash`); decode = erasure decode ->
 * check `ciphertextHash` -> decrypt -> decompress.
 * With k = 1 every piece is the padded ciphertext itself (replication): no coding, one hash for all n pieces and the
 * ciphertext (the caller has verified the piece against a CID that carries `ciphertextHash`).
 */
import { platform } from '#storage-platform'
import { CorruptDataError } from '../errors.ts'
import { releaseBuffer } from './buffer-release.ts'
import { bytesEqual } from './bytes-equal.ts'
import { compressSegment, decompressSegment } from './compression.ts'
import { MERKLE_LEAF_SIZE, TAG_SIZE } from './constants.ts'
import { createErasureCoder } from './erasure/index.ts'
import type { ErasureCoder, ManifestSegment } from './interface.ts'
import { paddedCiphertextSize, pieceSize } from './manifest.ts'
import { decryptSegment, encryptSegment, type FileKeys } from './segment-cipher.ts'

/** `details.reason` of the `CorruptDataError` thrown when decoded pieces do not give the segment's ciphertextHash. */
export const CIPHERTEXT_HASH_MISMATCH = 'ciphertext-hash'

export interface SegmentCodecInit {
  k: number
  n: number
  compressionLevel: number
  keys: FileKeys
}

/** A coded segment: n pieces with their sha256 digests and Merkle leaf hashes (32 bytes per 1 KiB leaf). */
export interface CodedSegment {
  index: number
  plaintextSize: number
  flags: number
  /** Ciphertext bytes including the tag, without padding. */
  ciphertextSize: number
  /** sha256 of the padded ciphertext (what is erasure coded): the manifest's `ciphertextHash`. */
  ciphertextHash: Uint8Array
  pieces: Uint8Array[]
  /** sha256 of each piece. */
  digests: Uint8Array[]
  /** Leaf hashes of each piece, concatenated. */
  leafHashes: Uint8Array[]
}

/** Hashes of the 1 KiB leaves of a leaf-aligned piece, concatenated (leaf hash = sha256(0x00 || leaf)). */
export function pieceLeafHashes(piece: Uint8Array): Uint8Array {
  const leaves = Math.ceil(piece.byteLength / MERKLE_LEAF_SIZE)
  const out = new Uint8Array(leaves * 32)
  const scratch = new Uint8Array(MERKLE_LEAF_SIZE + 1)
  for (let i = 0; i < leaves; i++) {
    const leaf = piece.subarray(i * MERKLE_LEAF_SIZE, (i + 1) * MERKLE_LEAF_SIZE)
    scratch.set(leaf, 1)
    out.set(
      platform.sha256(leaf.byteLength === MERKLE_LEAF_SIZE ? scratch : scratch.subarray(0, leaf.byteLength + 1)),
      i * 32,
    )
  }
  return out
}

export class SegmentCodec {
  readonly k: number
  readonly n: number
  readonly #level: number
  readonly #keys: FileKeys
  readonly #coder: ErasureCoder | undefined

  /** `coder` lets a caller reuse one erasure coder (with its cached matrices) across files of the same k and n. */
  constructor(init: SegmentCodecInit, coder?: ErasureCoder) {
    this.k = init.k
    this.n = init.n
    this.#level = init.compressionLevel
    this.#keys = init.keys
    // Validates k and n even for k = 1, which then replicates without the coder.
    const checked = coder ?? createErasureCoder({ k: init.k, n: init.n })
    this.#coder = init.k === 1 ? undefined : checked
  }

  /** Codes segment `index`. It takes `plaintext` over: its memory is released (detached) once it is encrypted. */
  encode(index: number, plaintext: Uint8Array, final: boolean): CodedSegment {
    const plaintextSize = plaintext.byteLength
    const { flags, bytes } = compressSegment(plaintext, this.#level)
    const ciphertextSize = bytes.byteLength + TAG_SIZE
    const padded = paddedCiphertextSize(ciphertextSize, this.k)
    const sealed = encryptSegment(this.#keys, index, flags, final, bytes, padded - ciphertextSize)
    if (bytes !== plaintext) releaseBuffer(bytes)
    releaseBuffer(plaintext)
    const coded: CodedSegment = {
      index,
      plaintextSize,
      flags,
      ciphertextSize,
      ciphertextHash: new Uint8Array(0),
      pieces: [],
      digests: [],
      leafHashes: [],
    }
    if (this.#coder === undefined) {
      const digest = new Uint8Array(platform.sha256(sealed)) // its own 32-byte buffer (cheap to send between threads)
      const leaves = pieceLeafHashes(sealed)
      coded.ciphertextHash = digest
      for (let slot = 0; slot < this.n; slot++) {
        coded.pieces.push(sealed)
        coded.digests.push(digest)
        coded.leafHashes.push(leaves)
      }
      return coded
    }
    coded.ciphertextHash = new Uint8Array(platform.sha256(sealed))
    coded.pieces = this.#coder.encode(sealed)
    releaseBuffer(sealed)
    for (const piece of coded.pieces) {
      coded.digests.push(new Uint8Array(platform.sha256(piece)))
      coded.leafHashes.push(pieceLeafHashes(piece))
    }
    return coded
  }

  /**
   * Rebuilds segment `index` from verified pieces (`pieces[slot]`, at least k present). With k > 1 the decoded
   * padded ciphertext must hash to `segment.ciphertextHash`, else `CorruptDataError` (details.reason
   * `'ciphertext-hash'`, details.slots): pieces that each match their CID but do not agree with each other.
   */
  decode(
    index: number,
    segment: Pick<ManifestSegment, 'size' | 'flags' | 'ciphertextHash'>,
    final: boolean,
    plaintextSize: number,
    pieces: ReadonlyArray<Uint8Array | undefined>,
  ): Uint8Array {
    const expected = pieceSize(segment.size, this.k)
    for (const piece of pieces) {
      if (piece !== undefined && piece.byteLength !== expected) {
        throw new CorruptDataError(
          `segment ${index} has a ${piece.byteLength}-byte piece, the manifest implies ${expected}`,
          {
            details: { segment: index },
          },
        )
      }
    }
    let padded: Uint8Array
    if (this.#coder === undefined) {
      const piece = pieces.find((p) => p !== undefined)
      if (piece === undefined) throw new CorruptDataError(`segment ${index} has no piece to decode`)
      padded = piece
    } else {
      padded = this.#coder.decode(pieces, paddedCiphertextSize(segment.size, this.k))
      if (!bytesEqual(platform.sha256(padded), segment.ciphertextHash)) {
        releaseBuffer(padded)
        const slots = pieces.flatMap((p, slot) => (p === undefined ? [] : [slot]))
        throw new CorruptDataError(
          `segment ${index}: the ciphertext decoded from slots ${slots.join(', ')} does not match the manifest's ciphertextHash: these pieces do not agree with each other (a forged upload); other slots may`,
          { details: { segment: index, slots, reason: CIPHERTEXT_HASH_MISMATCH } },
        )
      }
    }
    const plain = decryptSegment(this.#keys, index, segment.flags, final, padded.subarray(0, segment.size))
    if (this.#coder !== undefined) releaseBuffer(padded) // the coder's output; a k = 1 piece belongs to the caller
    const out = decompressSegment(plain, segment.flags, plaintextSize, index)
    if (out !== plain) releaseBuffer(plain)
    return out
  }
}
