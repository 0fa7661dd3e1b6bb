/**
 * Segment encryption: AES-256-GCM (node:crypto in Node, @noble/ciphers in a browser: see ./platform/interface.ts).
 *
 * - The file key (32 random bytes, the one in the capability) never encrypts directly. Each file has a random 16-byte
 *   salt (in the manifest); subkey = HKDF-SHA256(key, salt, "cairn/v1/file subkey"). So even a key reused across files
 *   (a caller-supplied key) never meets the same nonce twice, barring a 2^-64 salt collision.
 * - Nonce = 4-byte big-endian domain (0 segments, 1 metadata) || 8-byte big-endian segment index: unique per subkey.
 * - Authenticated data of segment i = salt || u64 i || u8 flags || u8 final. A segment moved to another index, with
 *   its compression flag flipped, cut off the end (the last one carries final = 1), or taken from another file
 *   (another salt, hence subkey) fails its tag.
 * - keyCheck = HKDF-SHA256(key, salt, "cairn/v1/key check", 16 bytes) tells a wrong key from damaged data.
 */
import { platform } from '#storage-platform'
import { DecryptionError, InvalidArgumentError } from '../errors.ts'
import { FILE_KEY_SIZE, FILE_SALT_SIZE, NONCE_SIZE, TAG_SIZE } from './constants.ts'

const SEGMENT_DOMAIN = 0
const METADATA_DOMAIN = 1

/** Per-file key material derived from the file key and the manifest's salt. */
export interface FileKeys {
  salt: Uint8Array
  subkey: Uint8Array
  keyCheck: Uint8Array
}

export function deriveFileKeys(key: Uint8Array, salt: Uint8Array): FileKeys {
  if (!(key instanceof Uint8Array) || key.byteLength !== FILE_KEY_SIZE) {
    throw new InvalidArgumentError(`a file key is ${FILE_KEY_SIZE} bytes, got ${key?.byteLength ?? typeof key}`)
  }
  if (salt.byteLength !== FILE_SALT_SIZE) {
    throw new InvalidArgumentError(`a file salt is ${FILE_SALT_SIZE} bytes, got ${salt.byteLength}`)
  }
  return {
    salt,
    subkey: platform.hkdfSha256(key, salt, 'cairn/v1/file subkey', 32),
    keyCheck: platform.hkdfSha256(key, salt, 'cairn/v1/key check', 16),
  }
}

/** True when `key` is the key whose check value is `keyCheck` (constant time). */
export function keyMatches(keys: FileKeys, keyCheck: Uint8Array): boolean {
  return keyCheck.byteLength === keys.keyCheck.byteLength && platform.timingSafeEqual(keyCheck, keys.keyCheck)
}

function nonce(domain: number, index: number): Uint8Array {
  const out = new Uint8Array(NONCE_SIZE)
  const view = new DataView(out.buffer)
  view.setUint32(0, domain)
  view.setBigUint64(4, BigInt(index))
  return out
}

function segmentAad(salt: Uint8Array, index: number, flags: number, final: boolean): Uint8Array {
  const aad = new Uint8Array(FILE_SALT_SIZE + 10)
  aad.set(salt, 0)
  const view = new DataView(aad.buffer)
  view.setBigUint64(FILE_SALT_SIZE, BigInt(index))
  aad[FILE_SALT_SIZE + 8] = flags
  aad[FILE_SALT_SIZE + 9] = final ? 1 : 0
  return aad
}

function seal(subkey: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, pad: number): Uint8Array {
  // ciphertext || tag || zero padding (the padding aligns pieces to Merkle leaves; it is not part of the ciphertext
  // and the manifest records the ciphertext length).
  return platform.aesGcmSeal(subkey, iv, aad, plaintext, pad)
}

function open(subkey: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, what: string): Uint8Array {
  if (sealed.byteLength < TAG_SIZE) throw new DecryptionError(`${what} is shorter than its authentication tag`)
  try {
    return platform.aesGcmOpen(subkey, iv, aad, sealed)
  } catch (cause) {
    throw new DecryptionError(
      `${what} failed authentication: it was altered, reordered, truncated or belongs to another file`,
      {
        cause,
      },
    )
  }
}

/**
 * Encrypts segment `index`; returns ciphertext || tag, followed by `pad` zero bytes.
 *
 * @example
 * ```ts
 * const sealed = encryptSegment(keys, 0, SEGMENT_COMPRESSED, true, compressed)
 * ```
 */
export function encryptSegment(
  keys: FileKeys,
  index: number,
  flags: number,
  final: boolean,
  plaintext: Uint8Array,
  pad = 0,
): Uint8Array {
  return seal(keys.subkey, nonce(SEGMENT_DOMAIN, index), segmentAad(keys.salt, index, flags, final), plaintext, pad)
}

/** Opens ciphertext || tag of segment `index`; throws `DecryptionError` naming the segment. */
export function decryptSegment(
  keys: FileKeys,
  index: number,
  flags: number,
  final: boolean,
  sealed: Uint8Array,
): Uint8Array {
  const aad = segmentAad(keys.salt, index, flags, final)
  return open(keys.subkey, nonce(SEGMENT_DOMAIN, index), aad, sealed, `segment ${index}`)
}

const METADATA_LABEL = new TextEncoder().encode('cairn/v1/metadata')

function metadataAad(salt: Uint8Array): Uint8Array {
  const aad = new Uint8Array(salt.byteLength + METADATA_LABEL.byteLength)
  aad.set(salt, 0)
  aad.set(METADATA_LABEL, salt.byteLength)
  return aad
}

export function encryptMetadataBytes(keys: FileKeys, plaintext: Uint8Array): Uint8Array {
  return seal(keys.subkey, nonce(METADATA_DOMAIN, 0), metadataAad(keys.salt), plaintext, 0)
}

export function decryptMetadataBytes(keys: FileKeys, sealed: Uint8Array): Uint8Array {
  return open(keys.subkey, nonce(METADATA_DOMAIN, 0), metadataAad(keys.salt), sealed, 'the file metadata')
}
