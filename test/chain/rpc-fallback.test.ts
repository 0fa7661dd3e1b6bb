/**
 * A chain client with several endpoints (the network file's `"rpc"` list, `--chain-rpc-fallback`): while the first is
 * down (test/chain/rpc-proxy.ts cut: connections refused and reset), reads and transactions go to the next, on a real
 * anvil; with a single endpoint the same outage fails. Issue 16, scenario 8: "fall back to other RPC URLs".
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  createChainClient,
  createChainReader,
  type Devchain,
  getBalances,
  startDevchain,
} from '../../src/chain/index.ts'
import { type RpcProxy, startRpcProxy } from './rpc-proxy.ts'

describe('chain endpoints with fallbacks', { timeout: 120_000 }, () => {
  let dir: string
  let chain: Devchain
  let first: RpcProxy
  let second: RpcProxy
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-rpc-fallback-'))
    chain = await startDevchain({ dir, accounts: 3 })
    const limits = { upstream: chain.rpcUrl, maxLogRange: 1e9, maxRequestsPerSecond: Infinity }
    first = await startRpcProxy(limits)
    second = await startRpcProxy(limits)
  })
  after(async () => {
    await first?.stop()
    await second?.stop()
    await chain?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('reads and sends through the second endpoint while the first is down, and uses the first again once back', async () => {
    const client = createChainClient({
      rpcUrl: first.url,
      fallbackRpcUrls: [second.url],
      chainId: chain.chainId,
      privateKey: chain.accounts[1]!,
      contracts: chain.contracts,
      rpcRetries: 1,
    })
    const single = createChainReader({
      rpcUrl: first.url,
      chainId: chain.chainId,
      contracts: chain.contracts,
      rpcRetries: 1,
    })
    const to = createChainClient({
      rpcUrl: chain.rpcUrl,
      chainId: chain.chainId,
      privateKey: chain.accounts[2]!,
      contracts: chain.contracts,
    }).account.address
    const before = await getBalances(client, { account: to })

    await first.setDown(true)
    const servedBefore = second.records.length
    const hash = await client.sendTransaction({ to, value: 1_000n })
    const receipt = await client.waitForTransactionReceipt({ hash })
    assert.equal(receipt.status, 'success')
    assert.equal((await getBalances(client, { account: to })).ether, before.ether + 1_000n)
    assert.ok(second.records.length > servedBefore, 'the second endpoint served while the first was down')
    await assert.rejects(single.getBlockNumber({ cacheTime: 0 }), 'one endpoint alone fails in the same outage')

    await first.setDown(false)
    const servedFirst = first.records.length
    assert.ok((await client.getBlockNumber({ cacheTime: 0 })) >= receipt.blockNumber)
    assert.ok(first.records.length > servedFirst, 'the first endpoint serves again once it is back')
  })
})
