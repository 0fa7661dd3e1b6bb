/**
 * The page's reading of a network file (parseBrowserNetwork): the same files `cairn network deploy` writes, a list of
 * RPC endpoints included, and a clear error naming the fix for anything else.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatNetworkFile, type NetworkFile, parseNetworkFile } from '../../src/chain/index.ts'
import { pageWallet, parseBrowserNetwork } from '../../src/client/index.ts'

const FILE: NetworkFile = {
  format: 1,
  name: 'testnet',
  chainId: 31337,
  rpc: 'http://127.0.0.1:8545',
  rpcFallbacks: ['http://127.0.0.1:8546', 'ws://127.0.0.1:8547'],
  contracts: {
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    market: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  },
  deploymentBlock: 1n,
  bootstrap: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWKowqbK4yVDkV3Ypq3xkU7xwHKsbAZ4s6Tc2fF8ZWM3gB'],
  allowPrivateAddresses: true,
}
const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'

describe('parseBrowserNetwork', () => {
  test('a network file with several RPC endpoints: the page uses the first and falls back to the others', () => {
    const text = formatNetworkFile(FILE)
    assert.ok(Array.isArray(JSON.parse(text).rpc), 'the file lists its endpoints')
    const network = parseBrowserNetwork(text)
    assert.equal(network.rpc, 'http://127.0.0.1:8545')
    assert.deepEqual(network.rpcFallbacks, ['http://127.0.0.1:8546', 'ws://127.0.0.1:8547'])
    const wallet = pageWallet(KEY, network)
    assert.equal(wallet.transport.type, 'fallback', 'the page wallet tries every endpoint')
  })

  test('one endpoint, as a string or a one-entry list', () => {
    const single = { ...FILE, rpcFallbacks: [] }
    assert.deepEqual(parseBrowserNetwork(formatNetworkFile(single)).rpcFallbacks, [])
    const listed = { ...JSON.parse(formatNetworkFile(single)), rpc: ['http://127.0.0.1:8545'] }
    assert.equal(parseBrowserNetwork(listed).rpc, 'http://127.0.0.1:8545')
  })

  test('bad RPC entries are refused with the fix', () => {
    const base = JSON.parse(formatNetworkFile(FILE))
    for (const rpc of [[], ['ftp://x'], [7], 'not a url', Array(9).fill('http://127.0.0.1:1')]) {
      assert.throws(() => parseBrowserNetwork({ ...base, rpc }), /network file needs an "rpc" URL.*network\.json/)
    }
  })
})

describe('STUN servers in the network file', () => {
  test('the page and the node read the same list; TURN (a credential in a public file) is refused', () => {
    const withStun = { ...FILE, iceServers: ['stun:stun.example.org:3478', 'stuns:stun.example.org:5349'] }
    const text = formatNetworkFile(withStun)
    assert.deepEqual(parseNetworkFile(text).iceServers, withStun.iceServers)
    assert.deepEqual(parseBrowserNetwork(text).iceServers, withStun.iceServers)
    const turn = { ...JSON.parse(text), iceServers: ['turn:user:secret@turn.example.org'] }
    assert.throws(() => parseNetworkFile(JSON.stringify(turn)), /"iceServers" must hold STUN URLs .*no TURN/)
    assert.throws(() => parseBrowserNetwork(turn), /"iceServers" must hold STUN URLs .*no TURN/)
    assert.equal(parseBrowserNetwork(formatNetworkFile(FILE)).iceServers, undefined)
  })
})
