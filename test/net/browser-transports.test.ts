/**
 * A node is reachable over the transports a browser has. A real `cairn node start` process listens on TCP, WebSockets
 * and WebRTC-direct; a page-like host in this process (src/net/browser-host.ts, nothing but one transport) dials it
 * over WebSockets only, then over WebRTC-direct only, reserves room, stores a piece over `/cairn/piece/1.0.0` and
 * fetches it back byte-equal. The WebSocket listener's own bounds hold: a message over 1 MiB closes the socket, a
 * malformed frame closes it without ending the node (it used to: an unhandled 'error' event of ws), and
 * sockets that never start a libp2p handshake are closed (refused beyond libp2p's pending-connection limits, else at
 * the inbound upgrade timeout).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createBrowserHost } from '../../src/net/browser-host.ts'
import { addressTransport, WEBSOCKET_MAX_MESSAGE_BYTES } from '../../src/net/index.ts'
import { pieceCid } from '../../src/storage/index.ts'
import { type LongRunning, startCairn, waitFor } from '../e2e/devnet-fixture.ts'

const LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/udp/0/webrtc-direct']

describe('a node process over the browser transports', { timeout: 180_000 }, () => {
  let dir: string
  let node: LongRunning
  let info: { peerId: string; multiaddrs: string[] }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-browser-transports-'))
    const args = ['node', 'start', '--dir', join(dir, 'node'), '--devnet', '--no-mdns', '--api-port', '0']
    for (const address of LISTEN) args.push('--listen', address)
    node = startCairn(args)
    info = JSON.parse(await node.waitForLine((line) => line.includes('"event":"ready"'), 60_000))
  })

  after(async () => {
    await node?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('announces a WebSocket address and a WebRTC-direct address with its certhash', () => {
    const kinds = info.multiaddrs.map(addressTransport)
    assert.deepEqual(kinds.sort(), ['tcp', 'webrtc-direct', 'ws'], info.multiaddrs.join(' '))
    const webrtc = info.multiaddrs.find((a) => addressTransport(a) === 'webrtc-direct')!
    assert.match(webrtc, /^\/ip4\/127\.0\.0\.1\/udp\/\d+\/webrtc-direct\/certhash\/u[\w-]+\/p2p\/12D3KooW\w+$/)
  })

  for (const transport of ['ws', 'webrtc-direct'] as const) {
    it(`stores and fetches a piece over ${transport} only`, async (t) => {
      const host = await createBrowserHost({ transports: [transport], allowPrivateAddresses: true })
      t.after(() => host.stop())
      const address = info.multiaddrs.find((a) => addressTransport(a) === transport)!
      const connection = await host.dial(address)
      assert.equal(connection.remotePeer.toString(), info.peerId)
      const bytes = new Uint8Array(randomBytes(4 * 1024 * 1024))
      const cid = pieceCid(bytes)
      await host.reserveUpload(info.peerId, { bytes: bytes.byteLength, seconds: 60 })
      const started = performance.now()
      await host.storePiece(info.peerId, cid, bytes)
      const stored = performance.now()
      const back = await host.fetchPiece(info.peerId, cid)
      const fetched = performance.now()
      assert.ok(Buffer.from(back).equals(Buffer.from(bytes)), 'the piece came back byte-equal')
      const used = host.libp2p.getConnections().map((c) => addressTransport(c.remoteAddr.toString()))
      assert.deepEqual([...new Set(used)], [transport], 'no other transport was used')
      const mbps = (ms: number) => (bytes.byteLength / 1e6 / (ms / 1000)).toFixed(1)
      t.diagnostic(`${transport}: store 4 MiB ${mbps(stored - started)} MB/s, fetch ${mbps(fetched - stored)} MB/s`)
    })
  }

  it('after its connection to a node dropped, the page host redials the address it dialled for the next stream', async (t) => {
    const host = await createBrowserHost({ transports: ['ws'], allowPrivateAddresses: true })
    t.after(() => host.stop())
    const address = info.multiaddrs.find((a) => addressTransport(a) === 'ws')!
    const connection = await host.dial(address)
    await host.libp2p.hangUp(connection.remotePeer)
    assert.equal(host.libp2p.getConnections(connection.remotePeer).length, 0, 'the connection is gone')
    const bytes = new Uint8Array(randomBytes(1024))
    await host.reserveUpload(info.peerId, { bytes: bytes.byteLength, seconds: 60 })
    await host.storePiece(info.peerId, pieceCid(bytes), bytes)
    assert.ok(Buffer.from(await host.fetchPiece(info.peerId, pieceCid(bytes))).equals(Buffer.from(bytes)))
  })

  it(`closes a WebSocket that sends a message over ${WEBSOCKET_MAX_MESSAGE_BYTES} bytes (1009)`, async () => {
    const address = info.multiaddrs.find((a) => addressTransport(a) === 'ws')!
    const port = address.split('/')[4]
    const socket = new WebSocket(`ws://127.0.0.1:${port}`)
    await new Promise((resolve, reject) => {
      socket.onopen = resolve
      socket.onerror = reject
    })
    const closed = new Promise<number>((resolve) => {
      socket.onclose = (event) => resolve(event.code)
    })
    socket.send(new Uint8Array(WEBSOCKET_MAX_MESSAGE_BYTES + 1))
    assert.equal(await closed, 1009, 'closed as "message too big"')
    assert.ok(node.running(), 'the node is still running (the refusal was an unhandled error event that ended it)')
  })

  it('survives a malformed WebSocket frame (an unmasked client frame: once an unhandled error that ended the node)', async () => {
    const address = info.multiaddrs.find((a) => addressTransport(a) === 'ws')!
    const socket = connect(Number(address.split('/')[4]), '127.0.0.1')
    await once(socket, 'connect')
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    const [answer] = (await once(socket, 'data')) as [Buffer]
    assert.match(answer.toString('latin1'), /^HTTP\/1\.1 101 /, 'the upgrade was accepted')
    socket.write(Buffer.from([0x82, 0x01, 0x00]))
    await once(socket, 'close')
    const host = await createBrowserHost({ transports: ['ws'], allowPrivateAddresses: true })
    try {
      const connection = await dialWithin(() => host.dial(address), 20)
      assert.equal(connection.remotePeer.toString(), info.peerId, 'the node still answers')
    } finally {
      await host.stop()
    }
    assert.ok(node.running(), 'the node is still running')
  })

  it('closes 100 WebSockets that never start a libp2p handshake, then serves a page', async (t) => {
    const address = info.multiaddrs.find((a) => addressTransport(a) === 'ws')!
    const port = address.split('/')[4]
    const idle = Array.from({ length: 100 }, () => new WebSocket(`ws://127.0.0.1:${port}`))
    t.after(() => {
      for (const socket of idle) socket.close()
    })
    // beyond libp2p's pending and per-host limits they are refused at once; the others time out their upgrade (10 s)
    await waitFor(
      () => idle.every((socket) => socket.readyState === WebSocket.CLOSED),
      30_000,
      'the node to close every idle WebSocket',
    )
    const host = await createBrowserHost({ transports: ['ws'], allowPrivateAddresses: true })
    t.after(() => host.stop())
    const bytes = new Uint8Array(randomBytes(256 * 1024))
    const cid = pieceCid(bytes)
    // the flood came from this test's own IP: libp2p refuses a host's inbound connections beyond 5 a second for the
    // rest of that second, so the page dials once a second (each refused dial counts too) until the window passed
    const connection = await dialWithin(() => host.dial(address), 20)
    assert.equal(connection.remotePeer.toString(), info.peerId)
    await host.reserveUpload(info.peerId, { bytes: bytes.byteLength, seconds: 60 })
    await host.storePiece(info.peerId, cid, bytes)
    assert.ok(Buffer.from(await host.fetchPiece(info.peerId, cid)).equals(Buffer.from(bytes)))
    assert.ok(node.running(), 'the node is still running')
  })
})

/** Tries `dial` once a second, at most `attempts` times (a rate limit's window, not an ordering of events). */
async function dialWithin<T>(dial: () => Promise<T>, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dial()
    } catch (error) {
      if (attempt >= attempts) throw error
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
  }
}
