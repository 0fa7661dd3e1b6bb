import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { registryAddresses } from '../../src/node/index.ts'

const circuit = '/ip4/10.13.1.12/tcp/4001/p2p/12D3KooWRelay/p2p-circuit'

describe('the addresses a node registers', () => {
  it("are the operator's announce addresses when given", () => {
    assert.deepEqual(
      registryAddresses(['/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.5/tcp/4001'], {
        announce: ['/dns4/node.example.org/tcp/4001'],
        reachability: 'public',
      }),
      ['/dns4/node.example.org/tcp/4001'],
    )
  })

  it('leave out loopback, and put relayed addresses first behind a NAT (found in the namespace cluster)', () => {
    const held = ['/ip4/127.0.0.1/tcp/4001', '/ip4/192.168.77.11/tcp/4001', circuit]
    assert.deepEqual(registryAddresses(held, { announce: [], reachability: 'private' }), [
      circuit,
      '/ip4/192.168.77.11/tcp/4001',
    ])
    assert.deepEqual(registryAddresses(held, { announce: [], reachability: 'public' }), [
      '/ip4/192.168.77.11/tcp/4001',
      circuit,
    ])
  })

  it('keep loopback on a devnet, where every address is loopback, and at most 8', () => {
    const devnet = Array.from({ length: 10 }, (_, i) => `/ip4/127.0.0.1/tcp/${4000 + i}`)
    assert.deepEqual(registryAddresses(devnet, { announce: [], reachability: 'unknown' }), devnet.slice(0, 8))
  })
})
