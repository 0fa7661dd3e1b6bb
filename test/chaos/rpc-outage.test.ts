/**
 * The outage of scenario 8: test/chain/rpc-proxy.ts `setDown(true)` makes its endpoint refuse connections (and resets
 * open ones) as a chain endpoint that is down would, and `setDown(false)` brings it back on the same URL; Cairn's chain
 * reader fails while it is down and reads again once it is back, with nothing restarted.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { createChainReader } from '../../src/chain/index.ts'
import { startRpcProxy } from '../chain/rpc-proxy.ts'

test('a cut rpc-proxy refuses connections and serves again on the same URL once restored', async () => {
  // A JSON-RPC endpoint that knows one method (the proxy forwards to it).
  const upstream = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
    })
    request.on('end', () => {
      const call = JSON.parse(text) as { id: number; method: string }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: '0x10' }))
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  const proxy = await startRpcProxy({ upstream: upstreamUrl, maxLogRange: 1e9, maxRequestsPerSecond: Infinity })
  try {
    const zero = '0x0000000000000000000000000000000000000000'
    const reader = createChainReader({
      rpcUrl: proxy.url,
      chainId: 31337,
      contracts: { token: zero, registry: zero, market: zero },
      rpcRetries: 1,
    })
    assert.equal(await reader.getBlockNumber({ cacheTime: 0 }), 16n)

    await proxy.setDown(true)
    assert.equal(proxy.down, true)
    await assert.rejects(
      fetch(proxy.url, { method: 'POST', body: '{}' }),
      (error: Error & { cause?: { code?: string } }) => error.cause?.code === 'ECONNREFUSED',
      'a cut endpoint refuses connections',
    )
    await assert.rejects(reader.getBlockNumber({ cacheTime: 0 }))

    await proxy.setDown(false)
    assert.equal(proxy.down, false)
    assert.equal(await reader.getBlockNumber({ cacheTime: 0 }), 16n, 'the same reader reads again once it is back')
  } finally {
    await proxy.stop()
    await new Promise<void>((resolve) => upstream.close(() => resolve()))
  }
})
