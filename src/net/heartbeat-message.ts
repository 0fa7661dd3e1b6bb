/**
 * The signed heartbeat: sent directly to watched peers (`/cairn/heartbeat/1.0.0`) and published as presence on the
 * gossip topic. Layout (all integers big-endian):
 *
 * | field        | bytes | notes                                                          |
 * |--------------|-------|----------------------------------------------------------------|
 * | format       | 1     | 2 (format 1 carried the sender's wall clock instead of boot ID and sequence) |
 * | flags        | 1     | bit 0: the sender serves storage                               |
 * | bootId       | 8     | random, drawn when the sender's heartbeat service starts       |
 * | sequence     | 8     | counter within one boot, from 1, +1 per heartbeat (at most 2^53 - 1) |
 * | intervalMs   | 4     | sender's heartbeat interval                                    |
 * | freeSpace    | 8     | bytes free; 2^64-1 = unknown                                   |
 * | peerIdLength | 1     | then the peer ID's multihash bytes (Ed25519 keys are inlined)  |
 * | versionLength| 1     | then the version, utf-8, at most 64 bytes                      |
 * | sigLength    | 1     | then the Ed25519 signature of "cairn-heartbeat/1" + all bytes before sigLength |
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MAX_HEARTBEAT_SIZE } from './constants.ts'
import { protocolError } from './frame-codec.ts'

export const HEARTBEAT_FORMAT = 2
/** Bytes of a boot ID on the wire. */
export const BOOT_ID_BYTES = 8
const SIGNING_DOMAIN = new TextEncoder().encode('cairn-heartbeat/1')
const UNKNOWN_FREE_SPACE = 0xffffffffffffffffn
const MAX_VERSION_BYTES = 64

export interface Heartbeat {
  peerId: string
  /**
   * Random ID of the sender's current boot (16 hex characters). Heartbeats are ordered by (bootId, sequence), never by
   * the sender's clock: a clock that steps back cannot make a live node look silent.
   */
  bootId: string
  /** Counter within the boot, strictly increasing (from 1). */
  sequence: number
  intervalMs: number
  storage: boolean
  freeSpace?: number
  version: string
}

function signedBytes(unsigned: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNING_DOMAIN.byteLength + unsigned.byteLength)
  out.set(SIGNING_DOMAIN, 0)
  out.set(unsigned, SIGNING_DOMAIN.byteLength)
  return out
}

/**
 * Encodes and signs a heartbeat with the node's key (whose peer ID must be `heartbeat.peerId`).
 *
 * @example
 * ```ts
 * const bootId = randomBytes(8).toString('hex')
 * const bytes = await encodeHeartbeat({ peerId, bootId, sequence: 1, intervalMs: 2000, storage: true, version: '0.1.0' }, key)
 * ```
 */
export async function encodeHeartbeat(heartbeat: Heartbeat, privateKey: PrivateKey): Promise<Uint8Array> {
  const peerIdBytes = peerIdFromString(heartbeat.peerId).toMultihash().bytes
  const bootId = Buffer.from(heartbeat.bootId, 'hex')
  if (bootId.byteLength !== BOOT_ID_BYTES || bootId.toString('hex') !== heartbeat.bootId.toLowerCase()) {
    throw protocolError('malformed', `a heartbeat boot ID is ${BOOT_ID_BYTES * 2} hex characters`)
  }
  if (!Number.isSafeInteger(heartbeat.sequence) || heartbeat.sequence < 0) {
    throw protocolError('malformed', 'a heartbeat sequence is a non-negative safe integer')
  }
  let version = new TextEncoder().encode(heartbeat.version)
  if (version.byteLength > MAX_VERSION_BYTES) version = version.subarray(0, MAX_VERSION_BYTES)
  const unsigned = new Uint8Array(
    1 + 1 + BOOT_ID_BYTES + 8 + 4 + 8 + 1 + peerIdBytes.byteLength + 1 + version.byteLength,
  )
  const view = new DataView(unsigned.buffer)
  let offset = 0
  unsigned[offset++] = HEARTBEAT_FORMAT
  unsigned[offset++] = heartbeat.storage ? 1 : 0
  unsigned.set(bootId, offset)
  offset += BOOT_ID_BYTES
  view.setBigUint64(offset, BigInt(heartbeat.sequence))
  offset += 8
  view.setUint32(offset, Math.max(0, Math.min(0xffffffff, Math.floor(heartbeat.intervalMs))))
  offset += 4
  const free =
    heartbeat.freeSpace === undefined || !Number.isFinite(heartbeat.freeSpace) || heartbeat.freeSpace < 0
      ? UNKNOWN_FREE_SPACE
      : BigInt(Math.floor(heartbeat.freeSpace))
  view.setBigUint64(offset, free)
  offset += 8
  unsigned[offset++] = peerIdBytes.byteLength
  unsigned.set(peerIdBytes, offset)
  offset += peerIdBytes.byteLength
  unsigned[offset++] = version.byteLength
  unsigned.set(version, offset)
  const signature = await privateKey.sign(signedBytes(unsigned))
  const out = new Uint8Array(unsigned.byteLength + 1 + signature.byteLength)
  out.set(unsigned, 0)
  out[unsigned.byteLength] = signature.byteLength
  out.set(signature, unsigned.byteLength + 1)
  return out
}

/**
 * Decodes a heartbeat and verifies its signature against the key inlined in its peer ID.
 * Throws ProtocolError on malformed bytes or a bad signature.
 *
 * @example
 * ```ts
 * const heartbeat = await decodeHeartbeat(bytes)
 * heartbeat.peerId // the signer
 * ```
 */
export async function decodeHeartbeat(bytes: Uint8Array): Promise<Heartbeat> {
  if (bytes.byteLength > MAX_HEARTBEAT_SIZE) throw protocolError('oversize', 'heartbeat too large')
  if (bytes.byteLength < 32) throw protocolError('truncated', 'heartbeat too short')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 0
  const format = bytes[offset++]
  if (format !== HEARTBEAT_FORMAT) throw protocolError('malformed', `unknown heartbeat format ${format}`)
  const flags = bytes[offset++]!
  const bootId = Buffer.from(bytes.subarray(offset, offset + BOOT_ID_BYTES)).toString('hex')
  offset += BOOT_ID_BYTES
  const sequence = view.getBigUint64(offset)
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError('malformed', 'heartbeat sequence too large')
  offset += 8
  const intervalMs = view.getUint32(offset)
  offset += 4
  const free = view.getBigUint64(offset)
  offset += 8
  const peerIdLength = bytes[offset++]!
  if (offset + peerIdLength + 2 > bytes.byteLength) throw protocolError('truncated', 'heartbeat peer ID truncated')
  const peerIdBytes = bytes.subarray(offset, offset + peerIdLength)
  offset += peerIdLength
  const versionLength = bytes[offset++]!
  if (versionLength > MAX_VERSION_BYTES || offset + versionLength + 1 > bytes.byteLength) {
    throw protocolError('truncated', 'heartbeat version truncated')
  }
  let version: string
  try {
    version = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(offset, offset + versionLength))
  } catch {
    throw protocolError('malformed', 'heartbeat version is not utf-8')
  }
  offset += versionLength
  const unsignedEnd = offset
  const sigLength = bytes[offset++]!
  if (offset + sigLength !== bytes.byteLength) throw protocolError('malformed', 'heartbeat signature length')
  const signature = bytes.subarray(offset)
  let peerId: ReturnType<typeof peerIdFromMultihash>
  try {
    peerId = peerIdFromMultihash(Digest.decode(peerIdBytes))
  } catch (cause) {
    throw protocolError('malformed', 'heartbeat peer ID undecodable', { cause: String(cause) })
  }
  if (peerId.type !== 'Ed25519' || peerId.publicKey === undefined) {
    throw protocolError('malformed', 'heartbeat peer ID carries no Ed25519 key')
  }
  let valid = false
  try {
    valid = await peerId.publicKey.verify(signedBytes(bytes.subarray(0, unsignedEnd)), signature)
  } catch {
    valid = false
  }
  if (!valid) throw protocolError('malformed', 'heartbeat signature does not verify')
  const heartbeat: Heartbeat = {
    peerId: peerId.toString(),
    bootId,
    sequence: Number(sequence),
    intervalMs,
    storage: (flags & 1) === 1,
    version,
  }
  if (free !== UNKNOWN_FREE_SPACE) heartbeat.freeSpace = Number(free)
  return heartbeat
}
