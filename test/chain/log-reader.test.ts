/**
 * Chain reading as public endpoints accept it, through a JSON-RPC proxy in front of anvil that refuses wide log
 * ranges, answers 429 above a request rate and refuses anvil_/evm_/filter methods: the windowed reader reads every
 * event across many windows and shrinks its window on a range refusal, the transport backs off on 429 and gives up
 * with a clear error, watches poll without filters, and no anvil-only method is called outside the devchain.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Address } from 'viem'
import {
  type ChainEvent,
  type ChainReader,
  createChainReader,
  createEventLog,
  getChainEvents,
  logWindowOf,
  readChainLogs,
  transferTokens,
  watchChainEvents,
} from '../../src/chain/index.ts'
import { waitFor } from '../wait-for.ts'
import { startTestChain, type TestChain } from './harness.ts'
import { type RpcProxy, startRpcProxy } from './rpc-proxy.ts'

const TRANSFERS = 24
const GAP_BLOCKS = 37

let chain: TestChain
let proxy: RpcProxy
let first: bigint
let last: bigint

const readerVia = (url: string, init: { logBlockRange?: number; rpcRetries?: number } = {}): ChainReader =>
  createChainReader({
    rpcUrl: url,
    chainId: chain.devchain.chainId,
    contracts: chain.devchain.contracts,
    pollingInterval: 50,
    ...init,
  })
const recipient = (i: number) => `0x${(0x1000 + i).toString(16).padStart(40, '0')}` as Address

before(async () => {
  chain = await startTestChain({ accounts: 3 })
  first = (await chain.clients[1]!.getBlockNumber({ cacheTime: 0 })) + 1n
  // Transfers spread over ~900 blocks: empty blocks mined directly on anvil (not through the proxy) between them.
  for (let i = 0; i < TRANSFERS; i++) {
    await transferTokens(chain.clients[1]!, { to: recipient(i), amount: BigInt(i + 1) })
    await chain.test.mine({ blocks: GAP_BLOCKS })
  }
  last = await chain.clients[1]!.getBlockNumber({ cacheTime: 0 })
  proxy = await startRpcProxy({ upstream: chain.devchain.rpcUrl, maxLogRange: 40, maxRequestsPerSecond: 1_000 })
})
after(async () => {
  await proxy?.stop()
  await chain?.stop()
})

const transfersOf = (events: ChainEvent[]) =>
  events.filter((e) => e.eventName === 'Transfer' && String(e.args.from) === chain.clients[1]!.account.address)

describe('the windowed log reader', () => {
  test('reads every event across many windows and shrinks its window once the endpoint refuses the range', async () => {
    proxy.records.length = 0
    const reader = readerVia(proxy.url, { logBlockRange: 100 })
    const events = await readChainLogs(reader, { contract: 'token', fromBlock: first, toBlock: last })
    const transfers = transfersOf(events)
    assert.deepEqual(
      transfers.map((e) => String(e.args.to).toLowerCase()),
      Array.from({ length: TRANSFERS }, (_, i) => recipient(i)),
    )
    const logs = proxy.records.filter((r) => r.method === 'eth_getLogs')
    const refused = logs.filter((r) => r.outcome === 'range')
    const served = logs.filter((r) => r.outcome === 'forwarded')
    // 100 -> 50 -> 25: two refusals, then every window fits
    assert.equal(refused.length, 2, String(refused.map((r) => `${r.fromBlock}-${r.toBlock}`)))
    assert.equal(logWindowOf(reader), 25)
    assert.ok(served.every((r) => r.toBlock! - r.fromBlock! + 1n <= 40n))
    // windows cover the range exactly once, in order
    let next = first
    for (const r of served) {
      assert.equal(r.fromBlock, next)
      next = r.toBlock! + 1n
    }
    assert.equal(next, last + 1n)
    assert.ok(served.length >= Number(last - first + 1n) / 25)
  })

  test('an event log reads the history once, then only the blocks added since', async () => {
    const reader = readerVia(proxy.url, { logBlockRange: 40 })
    const log = createEventLog(reader, { contract: 'token', eventNames: ['Transfer'], fromBlock: first })
    proxy.records.length = 0
    assert.equal(transfersOf(await log.readTo(last)).length, TRANSFERS)
    await transferTokens(chain.clients[1]!, { to: recipient(99), amount: 1n })
    // Not viem's cached block number: it can predate the transfer just mined.
    const head = await chain.clients[1]!.getBlockNumber({ cacheTime: 0 })
    proxy.records.length = 0
    const all = transfersOf(await log.readTo(head))
    assert.equal(all.length, TRANSFERS + 1)
    const logs = proxy.records.filter((r) => r.method === 'eth_getLogs')
    assert.deepEqual(
      logs.map((r) => [r.fromBlock, r.toBlock]),
      [[last + 1n, head]],
    )
  })

  test('getChainEvents and watches poll in windows and never ask for a filter', async () => {
    const reader = readerVia(proxy.url, { logBlockRange: 40 })
    proxy.records.length = 0
    assert.equal(
      transfersOf(await getChainEvents(reader, { contract: 'token', fromBlock: first })).length >= TRANSFERS,
      true,
    )
    const seen: ChainEvent[] = []
    const stop = watchChainEvents(reader, {
      contract: 'token',
      eventNames: ['Transfer'],
      onEvents: (e) => seen.push(...e),
    })
    try {
      await waitFor(
        () => proxy.records.some((r) => r.method === 'eth_blockNumber') || undefined,
        10_000,
        'the first poll',
      )
      await chain.test.mine({ blocks: 120 }) // a gap wider than the window between two polls
      await transferTokens(chain.clients[1]!, { to: recipient(100), amount: 1n })
      await waitFor(
        () => seen.some((e) => String(e.args.to).toLowerCase() === recipient(100)) || undefined,
        10_000,
        'the watched transfer',
      )
    } finally {
      stop()
    }
    assert.deepEqual(
      proxy.records.filter((r) => r.outcome !== 'forwarded').map((r) => `${r.method}:${r.outcome}`),
      [],
    )
    assert.ok(proxy.records.every((r) => !/filter/i.test(r.method)))
  })
})

describe('rate limits', () => {
  test('requests over the rate are retried with backoff until they pass', async () => {
    proxy.limits.maxRequestsPerSecond = 4
    try {
      proxy.records.length = 0
      const reader = readerVia(proxy.url)
      // twelve different reads at once (identical ones would be deduplicated by the client)
      const balances = await Promise.all(
        Array.from({ length: 12 }, (_, i) => reader.getBalance({ address: recipient(i) })),
      )
      assert.equal(balances.length, 12)
      assert.ok(
        proxy.records.some((r) => r.outcome === 'rate'),
        'the proxy refused some for the rate',
      )
      assert.equal(proxy.records.filter((r) => r.outcome === 'forwarded').length, 12)
    } finally {
      proxy.limits.maxRequestsPerSecond = 1_000
    }
  })

  test('an endpoint that keeps refusing gives a clear error after a bounded backoff', async () => {
    proxy.limits.maxRequestsPerSecond = 0
    try {
      const reader = readerVia(proxy.url, { rpcRetries: 2 })
      const began = Date.now()
      await assert.rejects(
        getChainEvents(reader, { contract: 'token', fromBlock: first, toBlock: first + 10n }),
        (error: Error) => {
          assert.match(error.message, /kept refusing eth_getLogs for its request rate \(3 tries/)
          assert.match(error.message, /poll less often .* or use another RPC endpoint/)
          assert.doesNotMatch(error.message, /\n\s+at /)
          return true
        },
      )
      assert.ok(Date.now() - began < 10_000)
    } finally {
      proxy.limits.maxRequestsPerSecond = 1_000
    }
  })
})

test('no anvil-only RPC method outside the devchain and the devnet', async () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url))
  const offenders: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      const relative = path.slice(src.length)
      if (entry.isDirectory()) {
        if (relative !== 'devnet') await walk(path)
      } else if (entry.name.endsWith('.ts') && !/^chain\/devchain[^/]*\.ts$/.test(relative)) {
        const text = await readFile(path, 'utf8')
        if (/\b(evm|anvil|hardhat)_[a-zA-Z]+|createTestClient|testActions/.test(text)) offenders.push(relative)
      }
    }
  }
  await walk(src)
  assert.deepEqual(offenders, [])
})
