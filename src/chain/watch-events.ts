import type { Log } from 'viem'
import { toCairnError } from './contract-errors.ts'
import { cairnTokenAbi, marketAbi, registryAbi } from './generated/index.ts'
import type { ChainCallOptions, ChainReader } from './interface.ts'

/** A decoded event of one of the Cairn contracts. */
export interface ChainEvent {
  contract: 'token' | 'registry' | 'market'
  eventName: string
  args: Record<string, unknown>
  blockNumber: bigint | null
  transactionHash: string | null
  logIndex: number | null
}

const ABIS = { token: cairnTokenAbi, registry: registryAbi, market: marketAbi } as const

function toEvent(contract: ChainEvent['contract'], log: Log & { eventName?: string; args?: unknown }): ChainEvent {
  return {
    contract,
    eventName: log.eventName ?? 'unknown',
    args: (log.args ?? {}) as Record<string, unknown>,
    blockNumber: log.blockNumber,
    transactionHash: log.transactionHash,
    logIndex: log.logIndex,
  }
}

/**
 * Subscribes to the events of one contract (all events, or those named in `eventNames`); returns the unsubscribe
 * function. Polls at the client's interval; `onError` receives RPC failures as `CairnError`s.
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
  },
  options: ChainCallOptions = {},
): () => void {
  const names = params.eventNames === undefined ? undefined : new Set(params.eventNames)
  const unwatch = client.watchContractEvent({
    address: client.contracts[params.contract],
    abi: ABIS[params.contract],
    onLogs: (logs) => {
      const events = logs
        .map((log) => toEvent(params.contract, log as Log & { eventName?: string; args?: unknown }))
        .filter((e) => names === undefined || names.has(e.eventName))
      if (events.length > 0) params.onEvents(events)
    },
    onError: (error) => params.onError?.(toCairnError(error, 'watchChainEvents')),
  })
  options.signal?.addEventListener('abort', unwatch, { once: true })
  return unwatch
}

/**
 * Past events of one contract between two blocks (inclusive).
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
    const logs = await client.getContractEvents({
      address: client.contracts[params.contract],
      abi: ABIS[params.contract],
      fromBlock: params.fromBlock ?? 0n,
      ...(params.toBlock === undefined ? {} : { toBlock: params.toBlock }),
    })
    const names = params.eventNames === undefined ? undefined : new Set(params.eventNames)
    return logs
      .map((log) => toEvent(params.contract, log as Log & { eventName?: string; args?: unknown }))
      .filter((e) => names === undefined || names.has(e.eventName))
  } catch (error) {
    throw toCairnError(error, 'getChainEvents', options.signal)
  }
}
