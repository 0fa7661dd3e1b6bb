/**
 * The devchain's clock while a devnet stops and starts: held still (every block mined with the last block's
 * timestamp) while the nodes are not all up, and released to run from where it stood once they are. So no epoch
 * passes while the nodes cannot prove, and a node is never reported missing for the time the devnet was down or
 * starting. anvil: `anvil_setBlockTimestampInterval` 0 holds the clock, `evm_setTime` sets it (its offset from the
 * wall clock), `anvil_removeBlockTimestampInterval` lets it run.
 */
import { createTestClient, http, publicActions } from 'viem'
import { toCairnError } from './contract-errors.ts'
import type { ChainCallOptions } from './interface.ts'

function devchainClient(rpcUrl: string, options: ChainCallOptions) {
  return createTestClient({
    mode: 'anvil',
    transport: http(rpcUrl, {
      retryCount: 0,
      ...(options.signal === undefined ? {} : { fetchOptions: { signal: options.signal } }),
    }),
  }).extend(publicActions)
}

/** Pins the clock at the latest block's timestamp (anvil's evm_setTime). */
async function setTimeToLatest(client: ReturnType<typeof devchainClient>): Promise<void> {
  const { timestamp } = await client.getBlock({ blockTag: 'latest' })
  await client.request({ method: 'evm_setTime' as never, params: [Number(timestamp)] as never })
}

/**
 * Holds the devchain's clock: blocks are still mined (transactions at once) but all with the latest block's
 * timestamp, so the current epoch does not end.
 *
 * @example
 * ```ts
 * await holdDevchainClock(devchain.rpcUrl)
 * // ... start the nodes ...
 * await releaseDevchainClock(devchain.rpcUrl)
 * ```
 */
export async function holdDevchainClock(rpcUrl: string, options: ChainCallOptions = {}): Promise<void> {
  const client = devchainClient(rpcUrl, options)
  try {
    // The interval first: from then on every block has the latest timestamp, which evm_setTime then pins exactly.
    await client.setBlockTimestampInterval({ interval: 0 })
    await setTimeToLatest(client)
  } catch (error) {
    throw toCairnError(error, 'holdDevchainClock', options.signal)
  }
}

/**
 * Lets a held devchain clock run again from the latest block's timestamp (the held time never happened).
 *
 * @example
 * ```ts
 * await releaseDevchainClock(devchain.rpcUrl)
 * ```
 */
export async function releaseDevchainClock(rpcUrl: string, options: ChainCallOptions = {}): Promise<void> {
  const client = devchainClient(rpcUrl, options)
  try {
    // Set the clock while it is still held (no block can be stamped later than the latest meanwhile), then let it run.
    await setTimeToLatest(client)
    await client.removeBlockTimestampInterval()
  } catch (error) {
    throw toCairnError(error, 'releaseDevchainClock', options.signal)
  }
}
