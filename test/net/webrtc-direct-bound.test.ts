/**
 * Thinking like an attacker on UDP: every STUN binding request naming a new ufrag makes @libp2p/webrtc's
 * WebRTC-direct listener build an RTCPeerConnection (ICE agent, DTLS, SCTP) before any handshake, and a request is
 * one unauthenticated datagram. The node's listener (src/net/node-transports.ts) holds at most a bounded number of
 * them, fewer per remote IP; the rest are dropped and counted. Once the flood's half-open connections time out, a
 * real peer connects over WebRTC-direct.
 */
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { after, describe, it } from 'node:test'
import { crc32 } from 'node:zlib'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createBrowserHost } from '../../src/net/browser-host.ts'
import { type CairnLibp2p, createCairnLibp2p } from '../../src/net/libp2p-host.ts'
import { WEBRTC_DIRECT_MAX_PER_HOST } from '../../src/net/transport-constants.ts'
import { waitFor } from '../wait-for.ts'

/**
 * A STUN binding request (RFC 8489) as a browser's first WebRTC-direct packet: USERNAME `ufrag:ufrag`,
 * MESSAGE-INTEGRITY keyed with the ufrag (libp2p's WebRTC-direct uses the ufrag as the ICE password, so anyone can
 * compute it) and FINGERPRINT.
 */
function stunBindingRequest(ufrag: string): Buffer {
  const username = Buffer.from(`${ufrag}:${ufrag}`)
  const usernameAttribute = Buffer.alloc(4 + Math.ceil(username.length / 4) * 4)
  usernameAttribute.writeUInt16BE(0x0006, 0)
  usernameAttribute.writeUInt16BE(username.length, 2)
  username.copy(usernameAttribute, 4)
  const header = Buffer.alloc(20)
  header.writeUInt16BE(0x0001, 0)
  header.writeUInt32BE(0x2112a442, 4)
  randomBytes(12).copy(header, 8)
  // the integrity covers the message with its length counting the integrity attribute, the fingerprint all before it
  header.writeUInt16BE(usernameAttribute.length + 24, 2)
  const integrity = Buffer.alloc(24)
  integrity.writeUInt16BE(0x0008, 0)
  integrity.writeUInt16BE(20, 2)
  createHmac('sha1', ufrag)
    .update(Buffer.concat([header, usernameAttribute]))
    .digest()
    .copy(integrity, 4)
  header.writeUInt16BE(usernameAttribute.length + 24 + 8, 2)
  const body = Buffer.concat([header, usernameAttribute, integrity])
  const fingerprint = Buffer.alloc(8)
  fingerprint.writeUInt16BE(0x8028, 0)
  fingerprint.writeUInt16BE(4, 2)
  fingerprint.writeUInt32BE((crc32(body) ^ 0x5354554e) >>> 0, 4)
  return Buffer.concat([body, fingerprint])
}

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const ufrag = () => `libp2p+webrtc+v1/${Array.from(randomBytes(32), (b) => alphabet[b % alphabet.length]).join('')}`

describe('the WebRTC-direct listener under a STUN flood', { timeout: 120_000 }, () => {
  let node: CairnLibp2p | undefined
  after(async () => {
    await node?.stop()
  })

  it(`builds at most ${WEBRTC_DIRECT_MAX_PER_HOST} peer connections for one IP, then serves a real peer`, async () => {
    const refusals = { webrtcDirect: 0 }
    node = await createCairnLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      devnet: true,
      mdns: false,
      listen: ['/ip4/127.0.0.1/udp/0/webrtc-direct'],
      transports: ['webrtc-direct'],
      transportRefusals: refusals,
      start: true,
    })
    const address = node.getMultiaddrs().map(String)[0]!
    const port = Number(address.split('/')[4])
    const socket = createSocket('udp4')
    const flood = 200
    for (let i = 0; i < flood; i++) socket.send(stunBindingRequest(ufrag()), port, '127.0.0.1')
    await waitFor(
      () => refusals.webrtcDirect >= flood - WEBRTC_DIRECT_MAX_PER_HOST,
      30_000,
      `${flood - WEBRTC_DIRECT_MAX_PER_HOST} of ${flood} STUN requests refused (refused: ${refusals.webrtcDirect})`,
    )
    socket.close()
    assert.equal(refusals.webrtcDirect, flood - WEBRTC_DIRECT_MAX_PER_HOST, 'exactly the requests beyond the bound')
    // the flood's half-open connections end at libp2p's inbound upgrade timeout (10 s); then a real peer gets in
    const peer = await createBrowserHost({ transports: ['webrtc-direct'], allowPrivateAddresses: true })
    try {
      const connection = await waitFor(
        () => peer.dial(address).catch(() => undefined),
        40_000,
        'a WebRTC-direct dial after the flood',
      )
      assert.equal(connection.remotePeer.toString(), node.peerId.toString())
    } finally {
      await peer.stop()
    }
  })
})
