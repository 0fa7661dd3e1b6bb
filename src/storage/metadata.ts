/**
 * File metadata (name, media type, modification time): DAG-CBOR, length-prefixed and zero-padded to a multiple of
 * `METADATA_PADDING` bytes so the ciphertext length does not reveal the name's length, then sealed with the file's
 * subkey (see segment-cipher.ts).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { DecryptionError, InvalidArgumentError } from '../errors.ts'
import { MAX_METADATA_SIZE, METADATA_PADDING } from './constants.ts'
import type { FileMetadata, Manifest } from './interface.ts'
import {
  decryptMetadataBytes,
  deriveFileKeys,
  encryptMetadataBytes,
  type FileKeys,
  keyMatches,
} from './segment-cipher.ts'

function clean(metadata: FileMetadata): FileMetadata {
  const out: FileMetadata = {}
  if (metadata.name !== undefined) {
    if (typeof metadata.name !== 'string') throw new InvalidArgumentError('metadata.name must be a string')
    out.name = metadata.name
  }
  if (metadata.type !== undefined) {
    if (typeof metadata.type !== 'string') throw new InvalidArgumentError('metadata.type must be a string')
    out.type = metadata.type
  }
  if (metadata.mtime !== undefined) {
    if (typeof metadata.mtime !== 'number' || !Number.isFinite(metadata.mtime)) {
      throw new InvalidArgumentError('metadata.mtime must be a finite number of milliseconds since the epoch')
    }
    out.mtime = metadata.mtime
  }
  return out
}

/** Seals metadata under the file's keys. */
export function encryptMetadata(keys: FileKeys, metadata: FileMetadata = {}): Uint8Array {
  const body = dagCbor.encode(clean(metadata))
  if (body.byteLength > MAX_METADATA_SIZE) {
    throw new InvalidArgumentError(`metadata is ${body.byteLength} bytes encoded, the limit is ${MAX_METADATA_SIZE}`)
  }
  const padded = new Uint8Array(Math.ceil((body.byteLength + 4) / METADATA_PADDING) * METADATA_PADDING)
  new DataView(padded.buffer).setUint32(0, body.byteLength)
  padded.set(body, 4)
  return encryptMetadataBytes(keys, padded)
}

/** Throws `DecryptionError` when `key` is not the key this manifest was written with. */
export function assertKeyMatches(manifest: Manifest, keys: FileKeys): void {
  if (!keyMatches(keys, manifest.keyCheck)) {
    throw new DecryptionError('wrong key: this key does not open the file (its key check value differs)')
  }
}

/**
 * Opens the manifest's encrypted metadata.
 *
 * @example
 * ```ts
 * const { name, type, mtime } = decryptMetadata(manifest, key)
 * ```
 */
export function decryptMetadata(manifest: Manifest, key: Uint8Array): FileMetadata {
  const keys = deriveFileKeys(key, manifest.salt)
  assertKeyMatches(manifest, keys)
  const padded = decryptMetadataBytes(keys, manifest.metadata)
  const length = padded.byteLength >= 4 ? new DataView(padded.buffer, padded.byteOffset).getUint32(0) : -1
  if (length < 0 || length + 4 > padded.byteLength) throw new DecryptionError('the file metadata is malformed')
  let value: unknown
  try {
    value = dagCbor.decode(padded.subarray(4, 4 + length))
  } catch (cause) {
    throw new DecryptionError('the file metadata is not valid DAG-CBOR', { cause })
  }
  if (typeof value !== 'object' || value === null) throw new DecryptionError('the file metadata is not a map')
  try {
    return clean(value as FileMetadata)
  } catch (cause) {
    throw new DecryptionError('the file metadata has fields of the wrong type', { cause })
  }
}
