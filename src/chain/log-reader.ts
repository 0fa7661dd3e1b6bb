/**
 * The one way Cairn reads contract logs: eth_getLogs in windows of at most the client's `logBlockRange` blocks
 * (default 2,000), the window halved (and kept halved for that client) whenever the endpoint refuses a range or a
 * result count, so a public endpoint never sees a query it rejects twice. `createEventLog` keeps what it read and
 * reads only the blocks after it on the next call (the dashboard and long-lived views).
 */
import type { Address, Log } from 'viem'
import { ChainError } from '../errors.ts'
import { toCairnError } from './contract-errors.ts'
import { cairnTokenAbi, marketAbi, registryAbi } from './generated/index.ts'
import type { ChainCallOptions, ChainReader } from './interface.ts'
import { DEFAULT_LOG_BLOCK_RANGE } from './rpc-limits.ts'
import { isBlockRangeError } from './rpc-transport.ts'

/** A decoded event of one of the Cairn contracts. */
export interface ChainEvent {
  contract: 'token' | 'registry' | 'market'
  eventName: string
  args: Record<string, unknown>
  blockNumber: bigint | null
  transactionHash: string | null
  logIndex: number | null
}

/** Which logs to read: one contract, optionally some of its events, between two blocks (inclusive). */
export interface LogQuery {
  contract: ChainEvent['contract']
  /** Only these events (all of the contract's when absent). */
  eventNames?: readonly string[]
  /** Indexed arguments to match (e.g. `{ node }`); only with exactly one event name. */
  args?: Record<string, unknown>
  fromBlock: bigint
  toBlock: bigint
}

const ABIS = { token: cairnTokenAbi, registry: registryAbi, market: marketAbi } as const

/** The window each client was shrunk to by an endpoint's refusal (kept for its later reads). */
const shrunk = new WeakMap<object, number>()

/** The widest window this client reads now (its `logBlockRange`, or less once an endpoint refused it). */
export function logWindowOf(client: ChainReader): number {
  return shrunk.get(client) ?? client.logBlockRange ?? DEFAULT_LOG_BLOCK_RANGE
}

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
 * The logs of `query`, read window after window (each at most `logWindowOf(client)` blocks), in chain order. An
 * endpoint refusing a window's range or result count halves the window and the same blocks are read again; a refusal
 * of a single block is an error naming the endpoint's limit.
 *
 * @example
 * ```ts
 * const proofs = await readChainLogs(reader, { contract: 'market', eventNames: ['ProofAccepted'],
 *   fromBlock: deployment.blockNumber, toBlock: await reader.getBlockNumber() })
 * ```
 */
export async function readChainLogs(
  client: ChainReader,
  query: LogQuery,
  options: ChainCallOptions & { onWindow?: (toBlock: bigint, events: ChainEvent[]) => void | Promise<void> } = {},
): Promise<ChainEvent[]> {
  const names = query.eventNames === undefined ? undefined : new Set(query.eventNames)
  const single = query.eventNames?.length === 1 ? query.eventNames[0] : undefined
  if (query.args !== undefined && single === undefined) {
    throw new ChainError('readChainLogs: indexed arguments need exactly one event name')
  }
  const address: Address = client.contracts[query.contract]
  const all: ChainEvent[] = []
  let from = query.fromBlock
  while (from <= query.toBlock) {
    options.signal?.throwIfAborted()
    const window = BigInt(logWindowOf(client))
    const to = from + window - 1n < query.toBlock ? from + window - 1n : query.toBlock
    let logs: Array<Log & { eventName?: string; args?: unknown }>
    try {
      logs = (await client.getContractEvents({
        address,
        abi: ABIS[query.contract],
        fromBlock: from,
        toBlock: to,
        ...(single === undefined ? {} : { eventName: single }),
        ...(query.args === undefined ? {} : { args: query.args }),
        // biome-ignore lint/suspicious/noExplicitAny: one call site for three ABIs and any event of them
      } as any)) as Array<Log & { eventName?: string; args?: unknown }>
    } catch (error) {
      if (options.signal?.aborted !== true && isBlockRangeError(error)) {
        const width = Number(to - from + 1n)
        if (width <= 1) {
          throw new ChainError(
            `the chain endpoint refuses eth_getLogs even for the single block ${from} (${(error as Error).message.split('\n')[0]}): use an RPC endpoint that serves logs`,
            { cause: error },
          )
        }
        shrunk.set(client, Math.max(1, Math.floor(width / 2)))
        continue
      }
      throw toCairnError(error, 'readChainLogs', options.signal)
    }
    const events = logs
      .map((log) => toEvent(query.contract, log))
      .filter((e) => names === undefined || names.has(e.eventName))
    all.push(...events)
    await options.onWindow?.(to, events)
    from = to + 1n
  }
  return all
}

/** Events of one contract read once and extended on demand: each `readTo` reads only the blocks not read yet. */
export interface EventLog {
  /** Every event of the query from its first block up to `blockNumber` (inclusive), in chain order. */
  readTo(blockNumber: bigint, options?: ChainCallOptions): Promise<ChainEvent[]>
}

/**
 * An incremental log of one contract's events from `fromBlock`: the first `readTo` reads the history (in windows),
 * the later ones only the blocks after the last read. Calls are served one at a time.
 *
 * @example
 * ```ts
 * const proofs = createEventLog(reader, { contract: 'market', eventNames: ['ProofAccepted'], fromBlock })
 * const sofar = await proofs.readTo(await reader.getBlockNumber())
 * ```
 */
export function createEventLog(client: ChainReader, query: Omit<LogQuery, 'toBlock'>): EventLog {
  const events: ChainEvent[] = []
  let readUpTo = query.fromBlock - 1n
  let turn: Promise<unknown> = Promise.resolve()
  return {
    readTo(blockNumber, options = {}) {
      const next = turn
        .catch(() => {})
        .then(async () => {
          if (blockNumber > readUpTo) {
            await readChainLogs(
              client,
              { ...query, fromBlock: readUpTo + 1n, toBlock: blockNumber },
              {
                ...options,
                onWindow: (to, found) => {
                  events.push(...found)
                  readUpTo = to
                },
              },
            )
          }
          return blockNumber >= readUpTo ? [...events] : events.filter((e) => (e.blockNumber ?? 0n) <= blockNumber)
        })
      turn = next
      return next
    },
  }
}
