/**
 * The devchain's clock while the devnet stops and starts: held still (every block mined with the last block's
 * timestamp) while the nodes are not all up, and released to run from where it stood once they are. So no epoch
 * passes while the nodes cannot prove, and a node is never reported missing for the time the devnet was down or
 * starting. anvil's JSON-RPC: `anvil_setBlockTimestampInterval` 0 holds the clock, `evm_setTime` sets it (its offset
 * from the wall clock), `anvil_removeBlockTimestampInterval` lets it run.
 */
import { ChainError } from '../errors.ts'
import type { AbortOptions } from '../node/index.ts'

/** One JSON-RPC call to the devchain. */
async function devchainRequest(rpcUrl: string, method: string, params: unknown[], options: AbortOptions) {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  })
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } }
  if (body.error !== undefined) throw new ChainError(`devchain ${method}: ${body.error.message ?? 'failed'}`)
  return body.result
}

/** Timestamp (unix seconds) of the devchain's latest block. */
async function latestTimestamp(rpcUrl: string, options: AbortOptions): Promise<number> {
  const block = (await devchainRequest(rpcUrl, 'eth_getBlockByNumber', ['latest', false], options)) as {
    timestamp: string
  }
  return Number(block.timestamp)
}

/**
 * Holds the devchain's clock: blocks are still mined (transactions at once, empty ones every block time) but all
 * with the latest block's timestamp, so the current epoch does not end.
 *
 * @example
 * ```ts
 * await holdDevchainClock(devchain.rpcUrl)
 * // ... start the nodes ...
 * await releaseDevchainClock(devchain.rpcUrl)
 * ```
 */
export async function holdDevchainClock(rpcUrl: string, options: AbortOptions = {}): Promise<void> {
  // The interval first: from then on every block has the latest timestamp, which evm_setTime then pins exactly.
  await devchainRequest(rpcUrl, 'anvil_setBlockTimestampInterval', [0], options)
  await devchainRequest(rpcUrl, 'evm_setTime', [await latestTimestamp(rpcUrl, options)], options)
}

/**
 * Lets a held devchain clock run again from the latest block's timestamp (the held time never happened).
 *
 * @example
 * ```ts
 * await releaseDevchainClock(devchain.rpcUrl)
 * ```
 */
export async function releaseDevchainClock(rpcUrl: string, options: AbortOptions = {}): Promise<void> {
  // Set the clock while it is still held (no block can be stamped later than the latest meanwhile), then let it run.
  await devchainRequest(rpcUrl, 'evm_setTime', [await latestTimestamp(rpcUrl, options)], options)
  await devchainRequest(rpcUrl, 'anvil_removeBlockTimestampInterval', [], options)
}
