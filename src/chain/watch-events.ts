/**
 * Event subscriptions and history over the windowed log reader: a watch polls the latest block number and reads the
 * new blocks' logs (no eth_newFilter, which public endpoints refuse or drop), and history is read in block windows.
 */
import { toCairnError } from './contract-errors.ts'
import type { ChainCallOptions, ChainReader } from './interface.ts'
import { type ChainEvent, readChainLogs } from './log-reader.ts'

export type { ChainEvent } from './log-reader.ts'

/** How often a watch polls when the client names no interval (ms). */
const WATCH_POLL_MS = 2_000

/**
 * Subscribes to the events of one contract (all events, or those named in `eventNames`) from the block after the
 * latest one; returns the unsubscribe function. Polls at the client's interval: one eth_blockNumber per poll, and one
 * windowed eth_getLogs when blocks were added. `onError` receives RPC failures as `CairnError`s (the watch goes on).
 *
 * @example
 * ```ts
 * const stop = watchChainEvents(reader, { contract: 'market', eventNames: ['ProofAccepted'],
 *   onEvents: (events) => { for (const e of events) console.log(e.args) } })
 * ```
 */
export function watchChainEvents(
  client: ChainReader,
  params: {
    contract: ChainEvent['contract']
    eventNames?: string[]
    onEvents: (events: ChainEvent[]) => void
    onError?: (error: Error) => void
    /** Poll interval in ms (default: the client's polling interval). */
    intervalMs?: number
  },
  options: ChainCallOptions = {},
): () => void {
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  const interval = params.intervalMs ?? client.pollingInterval ?? WATCH_POLL_MS
  let cursor: bigint | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const poll = async () => {
    try {
      const head = await client.getBlockNumber({ cacheTime: 0 })
      if (cursor === undefined) cursor = head
      else if (head > cursor) {
        const events = await readChainLogs(
          client,
          {
            contract: params.contract,
            ...(params.eventNames === undefined ? {} : { eventNames: params.eventNames }),
            fromBlock: cursor + 1n,
            toBlock: head,
          },
          { signal },
        )
        cursor = head
        if (events.length > 0 && !signal.aborted) params.onEvents(events)
      }
    } catch (error) {
      if (!signal.aborted) params.onError?.(toCairnError(error, 'watchChainEvents'))
    }
    if (!signal.aborted) timer = setTimeout(poll, interval)
  }
  void poll()
  const stop = () => {
    controller.abort()
    if (timer !== undefined) clearTimeout(timer)
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  return stop
}

/**
 * Past events of one contract between two blocks (inclusive; `toBlock` defaults to the latest), read in windows of
 * at most the client's `logBlockRange` blocks.
 *
 * @example
 * ```ts
 * const proofs = await getChainEvents(reader, { contract: 'market', eventNames: ['ProofAccepted'], fromBlock: 0n })
 * ```
 */
export async function getChainEvents(
  client: ChainReader,
  params: { contract: ChainEvent['contract']; eventNames?: string[]; fromBlock?: bigint; toBlock?: bigint },
  options: ChainCallOptions = {},
): Promise<ChainEvent[]> {
  try {
    const toBlock = params.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }))
    return await readChainLogs(
      client,
      {
        contract: params.contract,
        ...(params.eventNames === undefined ? {} : { eventNames: params.eventNames }),
        fromBlock: params.fromBlock ?? 0n,
        toBlock,
      },
      options,
    )
  } catch (error) {
    throw toCairnError(error, 'getChainEvents', options.signal)
  }
}
