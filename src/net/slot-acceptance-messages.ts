/**
 * Messages of `/cairn/slot-accept/1.0.0`. Each is the body of one frame; byte 0 is the message type. Integers are
 * big-endian; texts are UTF-8 with a u16 length (a reason at most 512 bytes, a manifest CID at most 128).
 *
 * | type | message         | layout after the type byte                                                        |
 * |------|-----------------|-----------------------------------------------------------------------------------|
 * | 0x01 | reserve request | u64 bytes, u32 seconds (the reservation's lifetime asked for)                     |
 * | 0x02 | reserve answer  | u8 1, u64 bytes granted, u64 expiresAt (ms since the epoch) / u8 0, reason       |
 * | 0x03 | accept request  | u8 slotIndex, 20 client address, 32 root, u64 size, u128 maxPricePerByteEpoch,   |
 * |      |                 | u32 durationEpochs, manifest CID text                                             |
 * | 0x04 | accept answer   | u8 1, 32 nonce, u64 expiry (unix s), u16 length, signature / u8 0, reason         |
 * | 0x05 | ticketed reserve| u64 bytes, u32 seconds, 20 account, u64 expiry (unix s), 32 nonce, u16 length,    |
 * |      | request         | signature: a reserve request carrying the paying account's upload ticket          |
 *
 * | 0x06 | leaf challenge  | 32 nonce, u8 slotIndex, u64 leafIndex, manifest CID text                          |
 * | 0x07 | leaf answer     | u8 1, 32 nonce, u16 leaf length (<= 1024), leaf, u8 count (<= 48), count x 32     |
 * |      |                 | path hashes / u8 0, reason / u8 2, reason (no manifest of this file here)        |
 *
 * A leaf challenge asks a holder for one 1 KiB leaf of a slot with its Merkle path to the slot root (the root the
 * manifest and the Market hold); the answer echoes the nonce. The answer to a 0x05 is a 0x02. The ticket is EIP-712 `UploadTicket(address node, uint64 bytes, uint64 expiry,
 * uint256 nonce)` signed by `account` (domain "Cairn Upload", version 1, the chain, the Market): `node` is the
 * receiving node's account and `bytes` the request's bytes, so neither travels twice (docs/protocol.md).
 */
import { bytesToHex, hexToBytes } from 'viem'
import { MERKLE_LEAF_SIZE } from '../storage/index.ts'
import { protocolError } from './frame-codec.ts'

/** Protocol of upload reservations and slot acceptances (a node's consent to hold a client's data). */
export const SLOT_ACCEPT_PROTOCOL = '/cairn/slot-accept/1.0.0'
/** Largest frame either side sends (an accept request is at most 213 bytes, a leaf answer at most 2,597). */
export const MAX_SLOT_ACCEPT_FRAME_SIZE = 4096
/** Most hashes in a leaf answer's Merkle path (a slot of 2^48 leaves, 256 PiB). */
export const MAX_LEAF_PATH_HASHES = 48
/** Longest refusal reason on the wire (longer ones are cut). */
export const MAX_REASON_BYTES = 512
/** Longest manifest CID text (the Market's limit). */
export const MAX_MANIFEST_CID_TEXT = 128
/** Longest signature (65 for an ECDSA account; contract accounts may use more). */
export const MAX_SIGNATURE_BYTES = 1024

type Hex = `0x${string}`

/**
 * An upload ticket as a reserve request carries it: the paying account's EIP-712 signature over (chain, Market, the
 * receiving node's account, the request's bytes, expiry, nonce). The node checks it (src/node/upload-ticket.ts).
 */
export interface WireUploadTicket {
  /** The account that signed, and that will create and pay the deal. */
  account: Hex
  /** Unix seconds: the ticket (and the reservation it grants) ends then. */
  expiry: number
  /** Chosen by the signer at random: each ticket grants room once. */
  nonce: bigint
  signature: Hex
}

/** A slot's terms as the client asks a node to accept them (EIP-712 `SlotTerms` without the Market). */
export interface WireSlotTerms {
  /** EVM account that will open the deal. */
  client: Hex
  manifestCid: string
  slotIndex: number
  /** The slot's Merkle root, 32 bytes. */
  root: Hex
  size: bigint
  maxPricePerByteEpoch: bigint
  durationEpochs: number
}

export type SlotAcceptanceMessage =
  | { type: 'reserve-request'; bytes: number; seconds: number; ticket?: WireUploadTicket }
  | { type: 'reserve-response'; granted: true; bytes: number; expiresAt: number }
  | { type: 'reserve-response'; granted: false; reason: string }
  | { type: 'accept-request'; terms: WireSlotTerms }
  | { type: 'accept-response'; granted: true; nonce: bigint; expiry: number; signature: Hex }
  | { type: 'accept-response'; granted: false; reason: string }
  | {
      type: 'leaf-request'
      manifestCid: string
      slotIndex: number
      leafIndex: number
      /** Fresh random 256 bits per challenge; the answer must echo it. */
      nonce: bigint
      /** Not sent: what the asker checks the answer against (a wrong answer then costs the holder score). */
      expect?: { root: Uint8Array; leafCount: number }
    }
  | { type: 'leaf-response'; granted: true; nonce: bigint; leaf: Uint8Array; proof: Uint8Array[] }
  | {
      type: 'leaf-response'
      granted: false
      reason: string
      /** The holder has no manifest of this file (yet: a put stores it last): not a failed check (status 2). */
      unknownFile?: true
    }

export const SlotAcceptanceMessageType = {
  ReserveRequest: 0x01,
  ReserveResponse: 0x02,
  AcceptRequest: 0x03,
  AcceptResponse: 0x04,
  TicketedReserveRequest: 0x05,
  LeafRequest: 0x06,
  LeafResponse: 0x07,
} as const

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

function hexBytes(hex: string, length: number, what: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]*$/.test(hex) || hex.length !== 2 + 2 * length) {
    throw protocolError('malformed', `${what} must be ${length} bytes of 0x-hex`)
  }
  return hexToBytes(hex as Hex)
}

function toHex(bytes: Uint8Array): Hex {
  return bytesToHex(bytes)
}

/** Appends fields to a growing body. */
class BodyWriter {
  readonly parts: Uint8Array[] = []

  u8(value: number): this {
    this.parts.push(Uint8Array.of(value))
    return this
  }

  uint(value: bigint, bytes: number, what: string): this {
    if (value < 0n || value >= 2n ** BigInt(8 * bytes)) throw protocolError('malformed', `${what} out of range`)
    const out = new Uint8Array(bytes)
    let rest = value
    for (let i = bytes - 1; i >= 0; i--) {
      out[i] = Number(rest & 0xffn)
      rest >>= 8n
    }
    this.parts.push(out)
    return this
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(bytes)
    return this
  }

  text(bytes: Uint8Array): this {
    return this.uint(BigInt(bytes.byteLength), 2, 'text length').raw(bytes)
  }

  done(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((sum, part) => sum + part.byteLength, 0))
    let offset = 0
    for (const part of this.parts) {
      out.set(part, offset)
      offset += part.byteLength
    }
    return out
  }
}

/** A cursor over a body that throws ProtocolError('truncated') instead of reading past the end. */
class BodyReader {
  readonly #body: Uint8Array
  offset = 1

  constructor(body: Uint8Array) {
    this.#body = body
  }

  bytes(length: number, what: string): Uint8Array {
    if (this.offset + length > this.#body.byteLength) throw protocolError('truncated', `${what} runs past the end`)
    const out = this.#body.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  uint(bytes: number, what: string): bigint {
    let value = 0n
    for (const byte of this.bytes(bytes, what)) value = (value << 8n) | BigInt(byte)
    return value
  }

  text(max: number, what: string): string {
    const length = Number(this.uint(2, `${what} length`))
    if (length > max) throw protocolError('oversize', `${what} of ${length} bytes (at most ${max})`)
    try {
      return textDecoder.decode(this.bytes(length, what))
    } catch (cause) {
      throw protocolError('malformed', `${what} is not UTF-8`, { cause: String(cause) })
    }
  }

  end(what: string): void {
    if (this.offset !== this.#body.byteLength) throw protocolError('malformed', `trailing bytes after ${what}`)
  }
}

function reasonBytes(reason: string): Uint8Array {
  const bytes = textEncoder.encode(reason)
  return bytes.byteLength <= MAX_REASON_BYTES ? bytes : bytes.subarray(0, MAX_REASON_BYTES)
}

function manifestCidBytes(text: string): Uint8Array {
  const cid = textEncoder.encode(text)
  if (cid.byteLength === 0 || cid.byteLength > MAX_MANIFEST_CID_TEXT) {
    throw protocolError('malformed', `manifest CID of ${cid.byteLength} bytes`)
  }
  return cid
}

function signatureBytes(hex: Hex): Uint8Array {
  const signature = hexBytes(hex, Math.max(0, (hex.length - 2) / 2), 'signature')
  if (signature.byteLength === 0 || signature.byteLength > MAX_SIGNATURE_BYTES) {
    throw protocolError('malformed', `signature of ${signature.byteLength} bytes`)
  }
  return signature
}

function readSignature(r: BodyReader): Hex {
  const length = Number(r.uint(2, 'signature length'))
  if (length === 0 || length > MAX_SIGNATURE_BYTES) throw protocolError('malformed', `signature of ${length}`)
  return toHex(r.bytes(length, 'signature'))
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError('malformed', `${what} out of range`)
  return Number(value)
}

/**
 * Encodes a slot-accept message into one frame body. Throws ProtocolError on a value the wire cannot carry.
 *
 * @example
 * ```ts
 * const body = encodeSlotAcceptanceMessage({ type: 'reserve-request', bytes: 1_000_000, seconds: 600 })
 * decodeSlotAcceptanceMessage(body) // the same message
 * ```
 */
export function encodeSlotAcceptanceMessage(message: SlotAcceptanceMessage): Uint8Array {
  const w = new BodyWriter()
  switch (message.type) {
    case 'reserve-request': {
      const ticket = message.ticket
      w.u8(
        ticket === undefined
          ? SlotAcceptanceMessageType.ReserveRequest
          : SlotAcceptanceMessageType.TicketedReserveRequest,
      )
      w.uint(BigInt(message.bytes), 8, 'bytes').uint(BigInt(message.seconds), 4, 'seconds')
      if (ticket === undefined) return w.done()
      return w
        .raw(hexBytes(ticket.account, 20, 'ticket account'))
        .uint(BigInt(ticket.expiry), 8, 'ticket expiry')
        .uint(ticket.nonce, 32, 'ticket nonce')
        .text(signatureBytes(ticket.signature))
        .done()
    }
    case 'reserve-response':
      w.u8(SlotAcceptanceMessageType.ReserveResponse)
      if (!message.granted) return w.u8(0).text(reasonBytes(message.reason)).done()
      return w.u8(1).uint(BigInt(message.bytes), 8, 'bytes').uint(BigInt(message.expiresAt), 8, 'expiresAt').done()
    case 'accept-request': {
      const t = message.terms
      const cid = manifestCidBytes(t.manifestCid)
      if (!Number.isInteger(t.slotIndex) || t.slotIndex < 0 || t.slotIndex > 255) {
        throw protocolError('malformed', `bad slot index ${t.slotIndex}`)
      }
      return w
        .u8(SlotAcceptanceMessageType.AcceptRequest)
        .u8(t.slotIndex)
        .raw(hexBytes(t.client, 20, 'client'))
        .raw(hexBytes(t.root, 32, 'root'))
        .uint(t.size, 8, 'size')
        .uint(t.maxPricePerByteEpoch, 16, 'maxPricePerByteEpoch')
        .uint(BigInt(t.durationEpochs), 4, 'durationEpochs')
        .text(cid)
        .done()
    }
    case 'leaf-request': {
      if (!Number.isInteger(message.slotIndex) || message.slotIndex < 0 || message.slotIndex > 255) {
        throw protocolError('malformed', `bad slot index ${message.slotIndex}`)
      }
      return w
        .u8(SlotAcceptanceMessageType.LeafRequest)
        .uint(message.nonce, 32, 'nonce')
        .u8(message.slotIndex)
        .uint(BigInt(message.leafIndex), 8, 'leaf index')
        .text(manifestCidBytes(message.manifestCid))
        .done()
    }
    case 'leaf-response': {
      w.u8(SlotAcceptanceMessageType.LeafResponse)
      if (!message.granted)
        return w
          .u8(message.unknownFile ? 2 : 0)
          .text(reasonBytes(message.reason))
          .done()
      if (message.leaf.byteLength > MERKLE_LEAF_SIZE) throw protocolError('malformed', 'leaf over 1 KiB')
      if (message.proof.length > MAX_LEAF_PATH_HASHES || message.proof.some((h) => h.byteLength !== 32)) {
        throw protocolError('malformed', `bad Merkle path of ${message.proof.length} hashes`)
      }
      w.u8(1).uint(message.nonce, 32, 'nonce').text(message.leaf).u8(message.proof.length)
      for (const hash of message.proof) w.raw(hash)
      return w.done()
    }
    case 'accept-response': {
      w.u8(SlotAcceptanceMessageType.AcceptResponse)
      if (!message.granted) return w.u8(0).text(reasonBytes(message.reason)).done()
      const signature = signatureBytes(message.signature)
      return w.u8(1).uint(message.nonce, 32, 'nonce').uint(BigInt(message.expiry), 8, 'expiry').text(signature).done()
    }
  }
}

/**
 * Decodes one frame body. Throws ProtocolError (never anything else) on any malformed input.
 *
 * @example
 * ```ts
 * const message = decodeSlotAcceptanceMessage(body)
 * if (message.type === 'accept-response' && !message.granted) console.log(message.reason)
 * ```
 */
export function decodeSlotAcceptanceMessage(body: Uint8Array): SlotAcceptanceMessage {
  if (body.byteLength === 0) throw protocolError('truncated', 'empty message')
  const r = new BodyReader(body)
  let message: SlotAcceptanceMessage
  switch (body[0]) {
    case SlotAcceptanceMessageType.ReserveRequest: {
      const bytes = safeNumber(r.uint(8, 'bytes'), 'bytes')
      message = { type: 'reserve-request', bytes, seconds: Number(r.uint(4, 'seconds')) }
      break
    }
    case SlotAcceptanceMessageType.TicketedReserveRequest: {
      const bytes = safeNumber(r.uint(8, 'bytes'), 'bytes')
      const seconds = Number(r.uint(4, 'seconds'))
      const account = toHex(r.bytes(20, 'ticket account'))
      const expiry = safeNumber(r.uint(8, 'ticket expiry'), 'ticket expiry')
      const nonce = r.uint(32, 'ticket nonce')
      const ticket = { account, expiry, nonce, signature: readSignature(r) }
      message = { type: 'reserve-request', bytes, seconds, ticket }
      break
    }
    case SlotAcceptanceMessageType.LeafRequest: {
      const nonce = r.uint(32, 'nonce')
      const slotIndex = r.bytes(1, 'slot index')[0]!
      const leafIndex = safeNumber(r.uint(8, 'leaf index'), 'leaf index')
      const manifestCid = r.text(MAX_MANIFEST_CID_TEXT, 'manifest CID')
      if (manifestCid.length === 0) throw protocolError('malformed', 'empty manifest CID')
      message = { type: 'leaf-request', manifestCid, slotIndex, leafIndex, nonce }
      break
    }
    case SlotAcceptanceMessageType.LeafResponse: {
      const status = r.bytes(1, 'status')[0]
      if (status === 0 || status === 2) {
        const reason = r.text(MAX_REASON_BYTES, 'reason')
        message = { type: 'leaf-response', granted: false, reason, ...(status === 2 ? { unknownFile: true } : {}) }
        break
      }
      if (status !== 1) throw protocolError('malformed', `unknown status ${status}`)
      const nonce = r.uint(32, 'nonce')
      const length = Number(r.uint(2, 'leaf length'))
      if (length > MERKLE_LEAF_SIZE)
        throw protocolError('oversize', `leaf of ${length} bytes (at most ${MERKLE_LEAF_SIZE})`)
      const leaf = Uint8Array.from(r.bytes(length, 'leaf'))
      const count = r.bytes(1, 'path length')[0]!
      if (count > MAX_LEAF_PATH_HASHES) throw protocolError('oversize', `Merkle path of ${count} hashes`)
      const proof: Uint8Array[] = []
      for (let i = 0; i < count; i++) proof.push(Uint8Array.from(r.bytes(32, 'path hash')))
      message = { type: 'leaf-response', granted: true, nonce, leaf, proof }
      break
    }
    case SlotAcceptanceMessageType.ReserveResponse:
    case SlotAcceptanceMessageType.AcceptResponse: {
      const type = body[0] === SlotAcceptanceMessageType.ReserveResponse ? 'reserve-response' : 'accept-response'
      const granted = r.bytes(1, 'status')[0]
      if (granted === 0) {
        message = { type, granted: false, reason: r.text(MAX_REASON_BYTES, 'reason') }
      } else if (granted !== 1) {
        throw protocolError('malformed', `unknown status ${granted}`)
      } else if (type === 'reserve-response') {
        const bytes = safeNumber(r.uint(8, 'bytes'), 'bytes')
        message = { type, granted: true, bytes, expiresAt: safeNumber(r.uint(8, 'expiresAt'), 'expiresAt') }
      } else {
        const nonce = r.uint(32, 'nonce')
        const expiry = safeNumber(r.uint(8, 'expiry'), 'expiry')
        message = { type, granted: true, nonce, expiry, signature: readSignature(r) }
      }
      break
    }
    case SlotAcceptanceMessageType.AcceptRequest: {
      const slotIndex = r.bytes(1, 'slot index')[0]!
      const client = toHex(r.bytes(20, 'client'))
      const root = toHex(r.bytes(32, 'root'))
      const size = r.uint(8, 'size')
      const maxPricePerByteEpoch = r.uint(16, 'maxPricePerByteEpoch')
      const durationEpochs = Number(r.uint(4, 'durationEpochs'))
      const manifestCid = r.text(MAX_MANIFEST_CID_TEXT, 'manifest CID')
      if (manifestCid.length === 0) throw protocolError('malformed', 'empty manifest CID')
      const terms = { client, manifestCid, slotIndex, root, size, maxPricePerByteEpoch, durationEpochs }
      message = { type: 'accept-request', terms }
      break
    }
    default:
      throw protocolError('malformed', `unknown message type ${body[0]}`)
  }
  r.end(message.type)
  return message
}
