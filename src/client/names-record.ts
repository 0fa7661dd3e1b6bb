/**
 * A name's record value: the capability sealed so that only those who know the name and its owner can read it. The
 * chain sees the owner, a hash of (owner, name) and these bytes, never the name or the capability.
 *
 *   key   = HKDF-SHA256(ikm = UTF-8 name, salt = the owner's 20-byte address, info = "cairn/v1/name", 32 bytes)
 *   value = 0x01 || nonce (12 random bytes) || AES-256-GCM(key, nonce, capability text, aad) || tag (16 bytes)
 *   aad   = "cairn/v1/name-record" || 0x01 || owner (20 bytes) || name ID (32 bytes) || sequence (8 bytes, big endian)
 *
 * The AAD binds a record to its owner, name and sequence: a value replayed under another sequence, name or owner
 * fails authentication ("forged record"). Format: docs/protocol.md, "Names".
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { type Address, type Hex, hexToBytes } from 'viem'
import { MAX_NAME_VALUE_BYTES } from '../chain/index.ts'
import { CorruptDataError, DecryptionError, InvalidArgumentError, InvalidCapabilityError } from '../errors.ts'
import { formatCapability, parseCapability } from '../storage/index.ts'

/** The version byte that starts every sealed record value. */
export const NAME_RECORD_VERSION = 1
/** Longest name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255
const KEY_INFO = 'cairn/v1/name'
const AAD_PREFIX = Buffer.from('cairn/v1/name-record', 'utf8')
const NONCE_BYTES = 12
const TAG_BYTES = 16

/**
 * Checks a name and returns its canonical form (Unicode NFC, so "café" typed either way is one name): 1 to 255 UTF-8
 * bytes, no NUL. Anything else is an `InvalidArgumentError` naming the rule.
 *
 * @example
 * ```ts
 * checkName('photos/2026') // 'photos/2026'
 * ```
 */
export function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidArgumentError('a name must not be empty: give 1 to 255 bytes of text, e.g. "photos"')
  }
  // A lone surrogate does not survive UTF-8 (it becomes U+FFFD).
  if (Buffer.from(name, 'utf8').toString('utf8') !== name)
    throw new InvalidArgumentError('a name must be valid Unicode text (it has a lone surrogate)')
  const canonical = name.normalize('NFC')
  if (canonical.includes('\0')) throw new InvalidArgumentError('a name must not contain the NUL character')
  const bytes = Buffer.byteLength(canonical, 'utf8')
  if (bytes > MAX_NAME_BYTES) {
    throw new InvalidArgumentError(`a name has at most ${MAX_NAME_BYTES} bytes (UTF-8), this one has ${bytes}`)
  }
  return canonical
}

/**
 * Checks that `text` is a capability (`cairn:<manifest CID>[#key]`) and returns its canonical text.
 *
 * @example
 * ```ts
 * checkNameValue(' cairn:bafyrei...#q83v... ') // 'cairn:bafyrei...#q83v...'
 * ```
 */
export function checkNameValue(text: string): string {
  try {
    return formatCapability(parseCapability(text))
  } catch (error) {
    throw new InvalidCapabilityError(
      `a name points to a capability (cairn:<manifest CID>#<key>, as cairn put printed it): ${(error as Error).message}`,
      { cause: error },
    )
  }
}

function recordKey(name: string, owner: Address): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(name, 'utf8'), hexToBytes(owner), KEY_INFO, 32))
}

function recordAad(owner: Address, nameId: Hex, sequence: bigint): Buffer {
  const sequenceBytes = Buffer.alloc(8)
  sequenceBytes.writeBigUInt64BE(sequence)
  return Buffer.concat([
    AAD_PREFIX,
    Buffer.of(NAME_RECORD_VERSION),
    hexToBytes(owner),
    hexToBytes(nameId),
    sequenceBytes,
  ])
}

/** Where a record sits: its owner, name (canonical), name ID and sequence. */
export interface NameRecordPlace {
  owner: Address
  name: string
  nameId: Hex
  sequence: bigint
}

/**
 * Seals a capability as record `place.sequence` of `place.owner`'s name `place.name` (a fresh random nonce each time).
 *
 * @example
 * ```ts
 * const value = sealNameValue({ owner, name, nameId: nameIdOf(owner, name), sequence: 1n }, capability)
 * ```
 */
export function sealNameValue(place: NameRecordPlace, capability: string): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', recordKey(place.name, place.owner), nonce)
  cipher.setAAD(recordAad(place.owner, place.nameId, place.sequence))
  const body = Buffer.concat([cipher.update(capability, 'utf8'), cipher.final()])
  const value = Buffer.concat([Buffer.of(NAME_RECORD_VERSION), nonce, body, cipher.getAuthTag()])
  if (value.byteLength > MAX_NAME_VALUE_BYTES) {
    throw new InvalidArgumentError(
      `the sealed record has ${value.byteLength} bytes, the Names contract takes at most ${MAX_NAME_VALUE_BYTES}: publish a capability`,
    )
  }
  return value
}

/**
 * Opens record `place.sequence` of `place.owner`'s name `place.name` and returns the capability. A value that does
 * not authenticate under this owner, name and sequence (written for another one, altered, or replayed) is a
 * `DecryptionError` saying "forged record"; one that authenticates but holds no capability is a `CorruptDataError`.
 *
 * @example
 * ```ts
 * const capability = openNameValue({ owner, name, nameId, sequence: record.sequence }, record.value)
 * ```
 */
export function openNameValue(place: NameRecordPlace, value: Uint8Array): string {
  const where = `record ${place.sequence} of name "${place.name}" (owner ${place.owner})`
  if (value.byteLength < 1 + NONCE_BYTES + TAG_BYTES || value[0] !== NAME_RECORD_VERSION) {
    throw new DecryptionError(
      `${where} is not a sealed capability of version ${NAME_RECORD_VERSION} (${value.byteLength} bytes, version ${value[0]}): forged record, or written by another program`,
    )
  }
  const nonce = value.subarray(1, 1 + NONCE_BYTES)
  const body = value.subarray(1 + NONCE_BYTES, value.byteLength - TAG_BYTES)
  const tag = value.subarray(value.byteLength - TAG_BYTES)
  let plaintext: string
  try {
    const decipher = createDecipheriv('aes-256-gcm', recordKey(place.name, place.owner), nonce)
    decipher.setAAD(recordAad(place.owner, place.nameId, place.sequence))
    decipher.setAuthTag(tag)
    plaintext = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
  } catch (error) {
    throw new DecryptionError(
      `${where} fails authentication: forged record (sealed for another name, owner or sequence, or altered)`,
      { cause: error },
    )
  }
  try {
    return checkNameValue(plaintext)
  } catch (error) {
    throw new CorruptDataError(`${where} authenticates but holds no capability`, { cause: error })
  }
}
