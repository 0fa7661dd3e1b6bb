/**
 * Capabilities: the text a user shares to give access to a file.
 *
 * - read capability: `cairn:<manifest CID>#<32-byte file key in base64url, no padding>`
 * - verify capability: `cairn:<manifest CID>` (lets anyone fetch, check and repair the pieces, not read them)
 *
 * The CID is CIDv1, dag-cbor codec, sha2-256, written in base32 (the multibase prefix `b`).
 */
import { base64url } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { InvalidCapabilityError } from '../errors.ts'
import { CAPABILITY_PREFIX, FILE_KEY_SIZE } from './constants.ts'
import { isManifestCid } from './manifest.ts'

export interface Capability {
  manifestCid: CID
  /** Absent in a verify capability. */
  key?: Uint8Array
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Formats a capability; without `key` it is the verify-only form.
 *
 * @example
 * ```ts
 * formatCapability({ manifestCid, key }) // 'cairn:bafyrei...#q83v...'
 * formatCapability({ manifestCid })      // 'cairn:bafyrei...'
 * ```
 */
export function formatCapability(capability: Capability): string {
  if (!isManifestCid(capability.manifestCid)) {
    throw new InvalidCapabilityError('a capability names a manifest: CIDv1, dag-cbor codec, sha2-256')
  }
  const text = `${CAPABILITY_PREFIX}${capability.manifestCid.toString()}`
  if (capability.key === undefined) return text
  if (capability.key.byteLength !== FILE_KEY_SIZE) {
    throw new InvalidCapabilityError(`a file key is ${FILE_KEY_SIZE} bytes, got ${capability.key.byteLength}`)
  }
  return `${text}#${base64url.baseEncode(capability.key)}`
}

/**
 * Parses a read or verify capability; surrounding whitespace is ignored. Throws `InvalidCapabilityError` saying
 * what is wrong (missing prefix, bad CID, wrong CID type, bad or short key).
 *
 * @example
 * ```ts
 * const { manifestCid, key } = parseCapability('cairn:bafyrei...#q83v...')
 * ```
 */
export function parseCapability(text: string): Capability {
  if (typeof text !== 'string') throw new InvalidCapabilityError(`a capability is text, got ${typeof text}`)
  const trimmed = text.trim()
  if (!trimmed.startsWith(CAPABILITY_PREFIX)) {
    const shown = trimmed.length > 20 ? `${trimmed.slice(0, 20)}...` : trimmed
    throw new InvalidCapabilityError(`a capability starts with '${CAPABILITY_PREFIX}', got '${shown}'`)
  }
  const body = trimmed.slice(CAPABILITY_PREFIX.length)
  const hash = body.indexOf('#')
  const cidText = hash === -1 ? body : body.slice(0, hash)
  if (cidText === '')
    throw new InvalidCapabilityError(`the capability has no manifest CID after '${CAPABILITY_PREFIX}'`)
  let manifestCid: CID
  try {
    manifestCid = CID.parse(cidText)
  } catch (cause) {
    throw new InvalidCapabilityError(
      `the manifest CID '${cidText}' is not a valid CID: check that the capability was copied whole (it looks like cairn:bafy...#<key>, as cairn put printed it)`,
      { cause },
    )
  }
  if (!isManifestCid(manifestCid)) {
    throw new InvalidCapabilityError(
      `'${cidText}' is not a manifest CID (expected CIDv1, dag-cbor codec 0x71, sha2-256; got version ${manifestCid.version}, codec 0x${manifestCid.code.toString(16)})`,
    )
  }
  if (hash === -1) return { manifestCid }
  const keyText = body.slice(hash + 1)
  if (keyText === '')
    throw new InvalidCapabilityError("the key after '#' is empty (omit the '#' for a verify capability)")
  if (!BASE64URL.test(keyText)) {
    const bad = [...keyText].find((c) => !BASE64URL.test(c))
    throw new InvalidCapabilityError(`the key is not base64url: character '${bad}' is not allowed (no padding '=')`)
  }
  if (keyText.length % 4 === 1) {
    throw new InvalidCapabilityError(
      `the key '${keyText}' is not valid base64url: ${keyText.length} characters is an impossible length`,
    )
  }
  const keyBytes = Math.floor((keyText.length * 6) / 8)
  if (keyBytes !== FILE_KEY_SIZE) {
    throw new InvalidCapabilityError(`the key is ${keyBytes} bytes, a file key is ${FILE_KEY_SIZE}`)
  }
  let key: Uint8Array
  try {
    key = base64url.baseDecode(keyText)
  } catch (cause) {
    throw new InvalidCapabilityError('the key is not in canonical base64url (its unused trailing bits are not zero)', {
      cause,
    })
  }
  if (key.byteLength !== FILE_KEY_SIZE || base64url.baseEncode(key) !== keyText) {
    throw new InvalidCapabilityError('the key is not in canonical base64url (its unused trailing bits are not zero)')
  }
  return { manifestCid, key }
}
