/**
 * Sockets that connect and never start the handshake (slowloris). libp2p's default admits 10 inbound connections
 * mid-handshake in all, each for up to 10 s: ten idle sockets from one address kept every other peer out. A node
 * admits `MAX_PENDING_INBOUND_CONNECTIONS` and drops a silent socket after `INBOUND_UPGRADE_TIMEOUT_MS`.
 */
import assert from 'node:assert/strict'
import { type Socket, connect as tcpConnect } from 'node:net'
import { describe, test } from 'node:test'
import { connect, startNode, stopAll, type TestNode } from './fixtures/hosts.ts'

describe('inbound connections that never handshake', () => {
  test('20 idle sockets do not keep a real peer out', async () => {
    let node: TestNode | undefined
    let peer: TestNode | undefined
    const sockets: Socket[] = []
    try {
      node = await startNode()
      peer = await startNode()
      const [, , host, , port] = node.network
        .multiaddrs()
        .find((m) => m.includes('/tcp/'))!
        .split('/')
      // 4 a second: libp2p refuses more than 5 new connections a second from one address.
      for (let i = 0; i < 20; i++) {
        const socket = tcpConnect({ host: host!, port: Number(port) })
        socket.on('error', () => {})
        sockets.push(socket)
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      const started = Date.now()
      await connect(peer.network, node.network)
      assert.ok(Date.now() - started < 5_000, `the real peer connected after ${Date.now() - started} ms`)
    } finally {
      for (const socket of sockets) socket.destroy()
      await stopAll([node, peer])
    }
  })
})
