/**
 * Messages of `/cairn/file-health/1.0.0`. Each is the body of one frame; byte 0 is the message type. Integers are
 * big-endian; slot lists are strictly increasing (no duplicates); a slot is below 255 (a file has n <= 255 slots).
 *
 * | type | message  | layout after the type byte                                                              |
 * |------|----------|-----------------------------------------------------------------------------------------|
 * | 0x01 | request  | u8 cidLength, manifest CID                                                              |
 * | 0x02 | response | u8 status (0 known, 1 unknown: nothing follows), then when known:                      |
 * |      |          | u8 count, count x u8 slot (slots this node holds)                                      |
 * |      |          | u8 count, count x u8 slot (slots this node sees without a live holder: lost)           |
 * |      |          | u8 count, count x (u8 slot, u8 targetLength, target peer ID utf-8, u32 done,           |
 * |      |          |                     u32 pieces, u64 startedAt ms since the epoch) (repairs running)     |
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { MAX_CID_BYTES, MAX_PEER_ID_TEXT_BYTES } from './constants.ts'
import { protocolError } from './frame-codec.ts'
import type { FileHealthRepair, FileHealthReport } from './interface.ts'

export const FileHealthMessageType = {
  Request: 0x01,
  Response: 0x02,
} as const

const STATUS_KNOWN = 0
const STATUS_UNKNOWN = 1
/** Highest slot index on the wire (n <= 255). */
const MAX_SLOT = 254
const MAX_U32 = 0xffffffff

export type FileHealthMessage =
  | { type: 'file-health-request'; manifestCid: CID }
  | { type: 'file-health-response'; report: FileHealthReport }

/** The answer of a node that knows nothing of the file. */
export function unknownFileHealth(): FileHealthReport {
  return { known: false, mySlots: [], lost: [], repairs: [] }
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

function checkSlots(slots: readonly number[], what: string): void {
  if (slots.length > MAX_SLOT + 1) throw protocolError('oversize', `more than ${MAX_SLOT + 1} ${what}`)
  let previous = -1
  for (const slot of slots) {
    if (!Number.isInteger(slot) || slot < 0 || slot > MAX_SLOT) throw protocolError('malformed', `bad slot ${slot}`)
    if (slot <= previous) throw protocolError('malformed', `${what} are not strictly increasing`)
    previous = slot
  }
}

function checkRepair(repair: FileHealthRepair): Uint8Array {
  const target = textEncoder.encode(repair.target)
  if (target.byteLength === 0 || target.byteLength > MAX_PEER_ID_TEXT_BYTES) {
    throw protocolError('malformed', `bad repair target of ${target.byteLength} bytes`)
  }
  for (const [name, value] of [
    ['done', repair.done],
    ['pieces', repair.pieces],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_U32)
      throw protocolError('malformed', `bad ${name} ${value}`)
  }
  if (repair.done > repair.pieces) throw protocolError('malformed', `repair done ${repair.done} > ${repair.pieces}`)
  if (!Number.isSafeInteger(repair.startedAt) || repair.startedAt < 0) {
    throw protocolError('malformed', `bad repair start time ${repair.startedAt}`)
  }
  return target
}

/**
 * Encodes a file-health message into one frame body. Throws ProtocolError on a report the wire cannot carry.
 *
 * @example
 * ```ts
 * const body = encodeFileHealthMessage({ type: 'file-health-request', manifestCid })
 * decodeFileHealthMessage(body) // { type: 'file-health-request', manifestCid }
 * ```
 */
export function encodeFileHealthMessage(message: FileHealthMessage): Uint8Array {
  if (message.type === 'file-health-request') {
    const bytes = message.manifestCid.bytes
    if (bytes.byteLength > MAX_CID_BYTES) throw protocolError('oversize', `CID of ${bytes.byteLength} bytes`)
    const body = new Uint8Array(2 + bytes.byteLength)
    body[0] = FileHealthMessageType.Request
    body[1] = bytes.byteLength
    body.set(bytes, 2)
    return body
  }
  const { report } = message
  if (!report.known) return Uint8Array.of(FileHealthMessageType.Response, STATUS_UNKNOWN)
  checkSlots(report.mySlots, 'held slots')
  checkSlots(report.lost, 'lost slots')
  checkSlots(
    report.repairs.map((r) => r.slot),
    'repaired slots',
  )
  const targets = report.repairs.map(checkRepair)
  let length = 2 + 1 + report.mySlots.length + 1 + report.lost.length + 1
  for (const target of targets) length += 1 + 1 + target.byteLength + 4 + 4 + 8
  const body = new Uint8Array(length)
  const view = new DataView(body.buffer)
  let offset = 0
  body[offset++] = FileHealthMessageType.Response
  body[offset++] = STATUS_KNOWN
  for (const list of [report.mySlots, report.lost]) {
    body[offset++] = list.length
    for (const slot of list) body[offset++] = slot
  }
  body[offset++] = report.repairs.length
  report.repairs.forEach((repair, i) => {
    const target = targets[i]!
    body[offset++] = repair.slot
    body[offset++] = target.byteLength
    body.set(target, offset)
    offset += target.byteLength
    view.setUint32(offset, repair.done)
    view.setUint32(offset + 4, repair.pieces)
    view.setBigUint64(offset + 8, BigInt(repair.startedAt))
    offset += 16
  })
  return body
}

/** A cursor over a body that throws ProtocolError('truncated') instead of reading past the end. */
class BodyReader {
  readonly #body: Uint8Array
  readonly #view: DataView
  offset: number

  constructor(body: Uint8Array, offset: number) {
    this.#body = body
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength)
    this.offset = offset
  }

  #need(bytes: number, what: string): void {
    if (this.offset + bytes > this.#body.byteLength) throw protocolError('truncated', `${what} runs past the end`)
  }

  u8(what: string): number {
    this.#need(1, what)
    return this.#body[this.offset++]!
  }

  u32(what: string): number {
    this.#need(4, what)
    const value = this.#view.getUint32(this.offset)
    this.offset += 4
    return value
  }

  u64(what: string): bigint {
    this.#need(8, what)
    const value = this.#view.getBigUint64(this.offset)
    this.offset += 8
    return value
  }

  bytes(length: number, what: string): Uint8Array {
    this.#need(length, what)
    const out = this.#body.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  slots(what: string): number[] {
    const count = this.u8(`${what} count`)
    const slots = [...this.bytes(count, what)]
    checkSlots(slots, what)
    return slots
  }

  get atEnd(): boolean {
    return this.offset === this.#body.byteLength
  }
}

function decodeRepair(reader: BodyReader): FileHealthRepair {
  const slot = reader.u8('repair slot')
  const length = reader.u8('repair target length')
  if (length === 0 || length > MAX_PEER_ID_TEXT_BYTES) throw protocolError('malformed', `bad target length ${length}`)
  const bytes = reader.bytes(length, 'repair target')
  let target: string
  try {
    target = textDecoder.decode(bytes)
    peerIdFromString(target)
  } catch (cause) {
    throw protocolError('malformed', 'repair target is not a peer ID', { cause: String(cause) })
  }
  const done = reader.u32('repair done')
  const pieces = reader.u32('repair pieces')
  const startedAt = reader.u64('repair start time')
  if (done > pieces) throw protocolError('malformed', `repair done ${done} > ${pieces}`)
  if (startedAt > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError('malformed', 'repair start time out of range')
  return { slot, target, done, pieces, startedAt: Number(startedAt) }
}

/**
 * Decodes one frame body. Throws ProtocolError (never anything else) on any malformed input.
 *
 * @example
 * ```ts
 * const message = decodeFileHealthMessage(body)
 * if (message.type === 'file-health-response') console.log(message.report.repairs)
 * ```
 */
export function decodeFileHealthMessage(body: Uint8Array): FileHealthMessage {
  if (body.byteLength === 0) throw protocolError('truncated', 'empty message')
  const reader = new BodyReader(body, 1)
  switch (body[0]) {
    case FileHealthMessageType.Request: {
      const length = reader.u8('CID length')
      if (length === 0 || length > MAX_CID_BYTES) throw protocolError('malformed', `bad CID length ${length}`)
      const bytes = reader.bytes(length, 'CID')
      let manifestCid: CID
      try {
        manifestCid = CID.decode(bytes)
      } catch (cause) {
        throw protocolError('malformed', 'undecodable CID', { cause: String(cause) })
      }
      if (!reader.atEnd) throw protocolError('malformed', 'trailing bytes after a file-health request')
      return { type: 'file-health-request', manifestCid }
    }
    case FileHealthMessageType.Response: {
      const status = reader.u8('status')
      if (status === STATUS_UNKNOWN) {
        if (!reader.atEnd) throw protocolError('malformed', 'trailing bytes after an unknown-file answer')
        return { type: 'file-health-response', report: unknownFileHealth() }
      }
      if (status !== STATUS_KNOWN) throw protocolError('malformed', `unknown status ${status}`)
      const mySlots = reader.slots('held slots')
      const lost = reader.slots('lost slots')
      const count = reader.u8('repair count')
      const repairs: FileHealthRepair[] = []
      for (let i = 0; i < count; i++) repairs.push(decodeRepair(reader))
      checkSlots(
        repairs.map((r) => r.slot),
        'repaired slots',
      )
      if (!reader.atEnd) throw protocolError('malformed', 'trailing bytes after a file-health answer')
      return { type: 'file-health-response', report: { known: true, mySlots, lost, repairs } }
    }
    default:
      throw protocolError('malformed', `unknown message type ${body[0]}`)
  }
}
