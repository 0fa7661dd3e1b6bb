import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { ProtocolError } from '../../src/errors.ts'
import {
  decodeFileHealthMessage,
  encodeFileHealthMessage,
  encodeFrame,
  FILE_HEALTH_PROTOCOL,
  type FileHealthMessage,
  type FileHealthReport,
  MAX_FILE_HEALTH_REQUEST_SIZE,
  MAX_FILE_HEALTH_RESPONSE_SIZE,
} from '../../src/net/index.ts'
import { pieceCid } from '../../src/storage/index.ts'
import { connect, startNode, stopAll } from './fixtures/hosts.ts'

const peerIds = await Promise.all(
  Array.from({ length: 4 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()),
)
const manifestCidOf = (bytes: Uint8Array) => CID.createV1(0x71, pieceCid(bytes).multihash)

const slotsArb = fc.uniqueArray(fc.integer({ min: 0, max: 254 }), { maxLength: 40 }).map((s) => s.sort((a, b) => a - b))
const reportArb: fc.Arbitrary<FileHealthReport> = fc.oneof(
  fc.constant<FileHealthReport>({ known: false, mySlots: [], lost: [], repairs: [] }),
  fc
    .record({
      mySlots: slotsArb,
      lost: slotsArb,
      repairs: fc.uniqueArray(
        fc
          .record({
            slot: fc.integer({ min: 0, max: 254 }),
            target: fc.constantFrom(...peerIds),
            pieces: fc.integer({ min: 0, max: 0xffffffff }),
            fraction: fc.double({ min: 0, max: 1, noNaN: true }),
            startedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          })
          .map(({ fraction, ...r }) => ({ ...r, done: Math.floor(r.pieces * fraction) })),
        { selector: (r) => r.slot, maxLength: 20 },
      ),
    })
    .map((r) => ({ known: true, ...r, repairs: r.repairs.sort((a, b) => a.slot - b.slot) })),
)
const messageArb: fc.Arbitrary<FileHealthMessage> = fc.oneof(
  fc
    .uint8Array({ maxLength: 64 })
    .map((bytes) => ({ type: 'file-health-request' as const, manifestCid: manifestCidOf(bytes) })),
  reportArb.map((report) => ({ type: 'file-health-response' as const, report })),
)

function normalize(message: FileHealthMessage): unknown {
  return message.type === 'file-health-request' ? { ...message, manifestCid: String(message.manifestCid) } : message
}

function assertProtocolError(error: unknown): true {
  assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`)
  return true
}

describe('file-health message codec', () => {
  test('every message round-trips and fits its frame cap', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const body = encodeFileHealthMessage(message)
        const cap =
          message.type === 'file-health-request' ? MAX_FILE_HEALTH_REQUEST_SIZE : MAX_FILE_HEALTH_RESPONSE_SIZE
        assert.ok(body.byteLength <= cap)
        assert.deepEqual(normalize(decodeFileHealthMessage(body)), normalize(message))
      }),
      { numRuns: 500 },
    )
  })

  test('random bytes, truncations and single-byte mutations decode or throw ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          decodeFileHealthMessage(bytes)
        } catch (error) {
          assertProtocolError(error)
        }
      }),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.nat(255), (message, position, value) => {
        const body = encodeFileHealthMessage(message)
        const mutated = Uint8Array.from(body)
        if (mutated.byteLength > 0) mutated[position % mutated.byteLength] = value
        for (const variant of [body.subarray(0, position % (body.byteLength + 1)), mutated]) {
          try {
            decodeFileHealthMessage(variant)
          } catch (error) {
            assertProtocolError(error)
          }
        }
      }),
      { numRuns: 1500 },
    )
  })

  test('the largest answer the wire allows (255 slots in every list, 255 repairs) fits the cap', () => {
    const all = Array.from({ length: 255 }, (_, i) => i)
    const target = peerIds[0]!
    const body = encodeFileHealthMessage({
      type: 'file-health-response',
      report: {
        known: true,
        mySlots: all,
        lost: all,
        repairs: all.map((slot) => ({ slot, target, done: 1, pieces: 2, startedAt: Date.now() })),
      },
    })
    assert.ok(body.byteLength <= MAX_FILE_HEALTH_RESPONSE_SIZE)
  })

  test('refuses duplicate slots, done above pieces, a target that is no peer ID and trailing bytes', () => {
    const report = (patch: Partial<FileHealthReport>): FileHealthMessage => ({
      type: 'file-health-response',
      report: { known: true, mySlots: [], lost: [], repairs: [], ...patch },
    })
    const repair = { slot: 1, target: peerIds[0]!, done: 3, pieces: 9, startedAt: 1 }
    assert.throws(() => encodeFileHealthMessage(report({ lost: [2, 2] })), /strictly increasing/)
    assert.throws(() => encodeFileHealthMessage(report({ repairs: [{ ...repair, done: 10 }] })), ProtocolError)
    const valid = encodeFileHealthMessage(report({ repairs: [repair] }))
    // the target's first character replaced: still utf-8, no longer a peer ID
    const bad = Uint8Array.from(valid)
    bad[2 + 1 + 1 + 1 + 2] = '0'.charCodeAt(0)
    assert.throws(() => decodeFileHealthMessage(bad), /not a peer ID/)
    assert.throws(() => decodeFileHealthMessage(Uint8Array.of(...valid, 0)), /trailing bytes/)
    assert.throws(() => decodeFileHealthMessage(Uint8Array.of(0x02, 1, 0)), /trailing bytes/)
    assert.throws(() => decodeFileHealthMessage(Uint8Array.of(0x02, 7)), /unknown status/)
  })
})

describe('file-health protocol between hosts on 127.0.0.1', () => {
  test('a node answers from its repair view, says "unknown" for other files, and cannot be flooded', async (t) => {
    const known = manifestCidOf(Uint8Array.of(1))
    const asked: string[] = []
    const server = await startNode({
      reportFileHealth: (cid) => {
        asked.push(cid.toString())
        if (!cid.equals(known)) return undefined
        return {
          known: true,
          mySlots: [0, 3],
          lost: [2],
          repairs: [{ slot: 2, target: peerIds[1]!, done: 37, pieces: 64, startedAt: 1_764_000_000_000 }],
        }
      },
    })
    const client = await startNode({ serveStore: false })
    t.after(() => stopAll([server, client]))
    await connect(client.network, server.network)
    assert.deepEqual(await client.network.fileHealth(server.network.peerId, known), {
      known: true,
      mySlots: [0, 3],
      lost: [2],
      repairs: [{ slot: 2, target: peerIds[1]!, done: 37, pieces: 64, startedAt: 1_764_000_000_000 }],
    })
    const other = manifestCidOf(Uint8Array.of(2))
    assert.deepEqual(await client.network.fileHealth(server.network.peerId, other), {
      known: false,
      mySlots: [],
      lost: [],
      repairs: [],
    })
    assert.deepEqual(asked, [known.toString(), other.toString()])
    assert.equal(server.network.score(client.network.peerId), 0, 'honest queries cost nothing')

    // An oversize request frame resets the stream and costs the sender score.
    const stream = await client.network.libp2p.dialProtocol(
      peerIdFromString(server.network.peerId),
      FILE_HEALTH_PROTOCOL,
    )
    stream.send(encodeFrame(new Uint8Array(MAX_FILE_HEALTH_REQUEST_SIZE + 1)))
    await stream.close().catch(() => {})
    let reset = false
    try {
      for await (const _ of stream) {
      }
      reset = stream.status === 'reset' || stream.status === 'aborted'
    } catch {
      reset = true
    }
    assert.ok(reset, 'the server reset the stream')
    assert.ok(server.network.score(client.network.peerId) < 0, 'the oversize frame cost score')
  })
})
