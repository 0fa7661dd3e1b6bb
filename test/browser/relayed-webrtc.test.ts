/**
 * A node that can be reached only through a relay (it listens on no address the page can dial, holds a relay
 * reservation and listens on `/webrtc`) is reached by the page's host (src/net/browser-host.ts, here in Node) at
 * `<relay's WebSocket address>/p2p-circuit/webrtc/p2p/<node>`: SDP goes over the relayed stream, then the page holds a
 * direct WebRTC connection, with no relay limits, over which it fetches a piece byte-equal. Thinking like
 * an attacker: one peer opening many signalling streams makes the node build at most
 * WEBRTC_MAX_SIGNALLING_PER_PEER RTCPeerConnections, the rest are refused and counted, and others still connect.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createBrowserHost, RELAY_STOP_PROTOCOL, WEBRTC_SIGNALLING_PROTOCOL } from '../../src/net/browser-host.ts'
import { addressTransport, createNetwork, type Network } from '../../src/net/index.ts'
import { type CairnLibp2p, createCairnLibp2p } from '../../src/net/libp2p-host.ts'
import { WEBRTC_MAX_SIGNALLING_PER_PEER } from '../../src/net/transport-constants.ts'
import { MAX_REGISTERED_ADDRESSES, registryAddresses } from '../../src/node/index.ts'
import { createMemoryPieceStore, type PieceStore, pieceCid } from '../../src/storage/index.ts'
import { waitFor } from '../wait-for.ts'

const SIGNALLING = WEBRTC_SIGNALLING_PROTOCOL

async function start(listen: string[], pieceStore: PieceStore = createMemoryPieceStore()): Promise<Network> {
  const network = createNetwork(
    { pieceStore },
    { privateKey: await generateKeyPair('Ed25519'), listen, devnet: true, mdns: false },
  )
  await network.start()
  return network
}

describe('WebRTC signalled over a relay (a node behind NAT, as the page reaches it)', { timeout: 120_000 }, () => {
  let relay: Network
  let relayWs: string
  const running: Array<{ stop(): unknown }> = []

  before(async () => {
    relay = await start(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'])
    running.push(relay)
    relayWs = relay.multiaddrs().find((a) => addressTransport(a) === 'ws')!
    assert.ok(relayWs.includes('/p2p/'), relayWs)
  })

  after(async () => {
    await Promise.allSettled(running.map((r) => r.stop()))
  })

  it('the page dials <relay>/p2p-circuit/webrtc, ends with a direct WebRTC connection, fetches a piece byte-equal', async (t) => {
    const relayTcp = relay.multiaddrs().find((a) => addressTransport(a) === 'tcp')!
    const store = createMemoryPieceStore()
    const node = await start([`${relayTcp}/p2p-circuit`, '/webrtc'], store)
    running.push(node)
    const address = await waitFor(
      () => node.multiaddrs().find((a) => addressTransport(a) === 'webrtc'),
      20_000,
      'the node to announce a /p2p-circuit/webrtc address',
    )
    // the page reaches the relay over WebSockets: the same circuit, on the relay's WebSocket address
    const target = `${relayWs}/p2p-circuit/webrtc/p2p/${node.peerId}`
    assert.match(address, /\/p2p-circuit\/webrtc\/p2p\/12D3KooW\w+$/)

    const host = await createBrowserHost({ transports: ['ws', 'webrtc'], allowPrivateAddresses: true })
    t.after(() => host.stop())
    const served = host.libp2p.getProtocols()
    assert.ok(!served.includes(RELAY_STOP_PROTOCOL), 'the page accepts no relayed dial')
    assert.ok(!served.includes(WEBRTC_SIGNALLING_PROTOCOL), 'the page answers no WebRTC offer')
    const connection = await host.dial(target)
    assert.equal(connection.remotePeer.toString(), node.peerId)
    assert.equal(connection.limits, undefined, 'not a limited (relayed) connection')
    assert.equal(addressTransport(connection.remoteAddr.toString()), 'webrtc')

    // storing needs a storage node's admission (src/node); the host here serves what its store holds
    const bytes = new Uint8Array(randomBytes(2 * 1024 * 1024))
    const cid = pieceCid(bytes)
    await store.put(cid, bytes)
    assert.ok(Buffer.from(await host.fetchPiece(node.peerId, cid)).equals(Buffer.from(bytes)), 'byte-equal')
    const open = host.libp2p
      .getConnections(connection.remotePeer)
      .filter((c) => c.status === 'open')
      .map((c) => ({ transport: addressTransport(c.remoteAddr.toString()), limited: c.limits !== undefined }))
    assert.deepEqual(open, [{ transport: 'webrtc', limited: false }], 'the page holds one direct WebRTC connection')
  })

  it('a node behind NAT registers relay-signalled WebRTC addresses even when relayed ones would fill the 8', () => {
    const node = '12D3KooWBaYRzkNHfzBtXtd8AXV1M6U5CzQA43PQtATx2XgefQ7G'
    const relays = ['10.13.1.11', '10.13.2.11', '10.13.3.11'].flatMap((ip, i) => [
      `/ip4/${ip}/tcp/4001/p2p/12D3KooWRelay${i}/p2p-circuit`,
      `/ip4/${ip}/tcp/4002/ws/p2p/12D3KooWRelay${i}/p2p-circuit`,
    ])
    // the host lists its circuit listeners' addresses before the WebRTC listener's, which derives from them
    const held = ['/ip4/192.168.77.11/tcp/4001', ...relays, ...relays.map((a) => `${a}/webrtc`)].map(
      (a) => `${a}/p2p/${node}`,
    )
    const registered = registryAddresses(held, { announce: [], reachability: 'private' })
    assert.equal(registered.length, MAX_REGISTERED_ADDRESSES)
    const webrtc = registered.filter((a) => addressTransport(a) === 'webrtc')
    assert.ok(webrtc.length >= 3, `relay-signalled WebRTC addresses registered: ${registered.join(' ')}`)
    assert.ok(
      webrtc.some((a) => a.includes('/ws/')),
      'one a page can dial (its relay over WebSockets)',
    )
  })

  it(`one peer gets at most ${WEBRTC_MAX_SIGNALLING_PER_PEER} signalling exchanges at once; the rest are refused, others still connect`, async (t) => {
    const refusals = { webrtcDirect: 0, webrtc: 0 }
    const node: CairnLibp2p = await createCairnLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      devnet: true,
      mdns: false,
      listen: [
        '/ip4/127.0.0.1/tcp/0',
        `${relay.multiaddrs().find((a) => addressTransport(a) === 'tcp')!}/p2p-circuit`,
        '/webrtc',
      ],
      transportRefusals: refusals,
      start: true,
    })
    running.push(node)
    const direct = node.getMultiaddrs().find((a) => addressTransport(a.toString()) === 'tcp')!
    const attacker = await createCairnLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      devnet: true,
      mdns: false,
      listen: [],
      serveStore: false,
      transports: ['tcp'],
      start: true,
    })
    t.after(() => attacker.stop())
    const flood = 8
    // streams that never send an SDP offer: each accepted one holds an RTCPeerConnection until the upgrade timeout
    const streams = await Promise.allSettled(
      Array.from({ length: flood }, () =>
        attacker.dialProtocol(multiaddr(direct.toString()), SIGNALLING, { signal: AbortSignal.timeout(10_000) }),
      ),
    )
    assert.ok(
      streams.every((s) => s.status === 'fulfilled'),
      'the streams opened (the protocol is served)',
    )
    await waitFor(
      () => refusals.webrtc >= flood - WEBRTC_MAX_SIGNALLING_PER_PEER,
      10_000,
      `${flood - WEBRTC_MAX_SIGNALLING_PER_PEER} signalling streams refused (refused: ${refusals.webrtc})`,
    )
    assert.equal(refusals.webrtc, flood - WEBRTC_MAX_SIGNALLING_PER_PEER, 'exactly the streams beyond the bound')

    const host = await createBrowserHost({ transports: ['ws', 'webrtc'], allowPrivateAddresses: true })
    t.after(() => host.stop())
    const connection = await host.dial(`${relayWs}/p2p-circuit/webrtc/p2p/${node.peerId}`)
    assert.equal(addressTransport(connection.remoteAddr.toString()), 'webrtc', 'a page still connects')
    assert.equal(connection.limits, undefined)
  })
})
