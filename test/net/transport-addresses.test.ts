/**
 * Address lists keep every transport: the 8 addresses a node registers and a network file's bootstrap entries hold
 * the WebSocket and WebRTC-direct addresses browsers need, WebRTC-direct ones with their certhash, and none longer than
 * the Registry takes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { addressTransport, firstAddressPerTransport, interleaveTransports } from '../../src/net/index.ts'
import { MAX_REGISTERED_ADDRESSES, registryAddresses } from '../../src/node/index.ts'

const PEER = '12D3KooWBaYRzkNHfzBtXtd8AXV1M6U5CzQA43PQtATx2XgefQ7G'
const CERTHASH = 'uEiC8fw4MHk__0JQq_XYLUC8VZrzGYiS1Mq64fnUe4YjdwA'
const tcp = (ip: string) => `/ip4/${ip}/tcp/4001/p2p/${PEER}`
const ws = (ip: string) => `/ip4/${ip}/tcp/4002/ws/p2p/${PEER}`
const webrtc = (ip: string) => `/ip4/${ip}/udp/4003/webrtc-direct/certhash/${CERTHASH}/p2p/${PEER}`

describe('transport addresses', () => {
  it('name the transport of an address', () => {
    assert.equal(addressTransport(tcp('203.0.113.7')), 'tcp')
    assert.equal(addressTransport(ws('203.0.113.7')), 'ws')
    assert.equal(addressTransport(`/dns4/node.example/tcp/443/tls/ws/p2p/${PEER}`), 'ws')
    assert.equal(addressTransport(`/dns4/node.example/tcp/443/wss/p2p/${PEER}`), 'ws')
    assert.equal(addressTransport(webrtc('203.0.113.7')), 'webrtc-direct')
    assert.equal(addressTransport(`${ws('198.51.100.1')}/p2p-circuit/p2p/${PEER}`), 'circuit-relay')
    assert.equal(addressTransport('/ip4/203.0.113.7/udp/4001/quic-v1'), 'other')
  })

  it('interleave transports so that a prefix holds each of them', () => {
    const ips = ['203.0.113.7', '198.51.100.9', '192.0.2.1']
    const listed = [...ips.map(tcp), ...ips.map(ws), ...ips.map(webrtc)]
    const mixed = interleaveTransports(listed)
    assert.deepEqual(new Set(mixed), new Set(listed), 'nothing lost, nothing added')
    assert.deepEqual(mixed.slice(0, 3).map(addressTransport), ['tcp', 'ws', 'webrtc-direct'])
    assert.deepEqual(
      mixed.filter((a) => addressTransport(a) === 'ws'),
      ips.map(ws),
      'each transport keeps its order',
    )
  })

  it('give one bootstrap address per transport, only those naming their peer', () => {
    const addresses = ['/ip4/127.0.0.1/tcp/1', tcp('127.0.0.1'), tcp('127.0.0.2'), ws('127.0.0.1'), webrtc('127.0.0.1')]
    assert.deepEqual(firstAddressPerTransport(addresses), [tcp('127.0.0.1'), ws('127.0.0.1'), webrtc('127.0.0.1')])
  })

  it('registered addresses keep a WebSocket and a WebRTC-direct address when TCP ones would fill the 8', () => {
    const ips = ['203.0.113.7', '198.51.100.9', '192.0.2.1', '203.0.113.8', '203.0.113.9']
    const host = [...ips.map(tcp), ...ips.map(ws), ...ips.map(webrtc)]
    const registered = registryAddresses(host, { announce: [], reachability: 'public' })
    assert.equal(registered.length, MAX_REGISTERED_ADDRESSES)
    const kinds = new Set(registered.map(addressTransport))
    assert.deepEqual(kinds, new Set(['tcp', 'ws', 'webrtc-direct']))
    assert.ok(registered.filter((a) => addressTransport(a) === 'webrtc-direct').every((a) => a.includes('/certhash/')))
  })

  it('an address longer than the Registry takes (256 bytes) is left out, not the registration failed', () => {
    const long = `/dns4/${'a'.repeat(250)}.example/tcp/443/wss/p2p/${PEER}`
    const registered = registryAddresses([long, tcp('203.0.113.7'), webrtc('203.0.113.7')], {
      announce: [],
      reachability: 'public',
    })
    assert.deepEqual(registered, [tcp('203.0.113.7'), webrtc('203.0.113.7')])
    assert.ok(
      registered.every((a) => new TextEncoder().encode(a).byteLength <= 256),
      'a WebRTC-direct address with certhash and peer ID fits',
    )
  })

  it("an announced WebRTC-direct address gets the host's certhash", () => {
    const announce = ['/ip4/203.0.113.7/tcp/4001', '/ip4/203.0.113.7/udp/4003/webrtc-direct']
    const host = [tcp('203.0.113.7'), webrtc('203.0.113.7')]
    assert.deepEqual(registryAddresses(host, { announce, reachability: 'unknown' }), [
      '/ip4/203.0.113.7/tcp/4001',
      webrtc('203.0.113.7'),
    ])
  })
})
