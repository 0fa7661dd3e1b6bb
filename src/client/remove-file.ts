/**
 * Removing a file: its owner ends each running deal of it on chain (`endDeal`: the deal stops after the current
 * epoch and the escrow no node can still earn comes back), and forgets it from the record of files put. The nodes
 * then close the ended deals and delete the pieces after their grace period (their garbage collector).
 */
import { type Hex, hexToString, parseEventLogs } from 'viem'
import { type ChainClient, endDeal, getDeal, getEpochInfo, marketAbi, readChainLogs } from '../chain/index.ts'
import type { AbortOptions } from '../net/index.ts'

/** One deal `endFileDeals` looked at. */
export interface EndedDeal {
  dealId: string
  /** 'ended' now; 'already-ended' (ended or closed before); 'unchanged' when it could not be shortened. */
  outcome: 'ended' | 'already-ended' | 'unchanged'
  /** Token units paid back to the owner by this call (0 unless ended now). */
  refund: string
  /** First epoch after the deal (its new end when ended now). */
  endEpoch: number
  transactionHash?: string
  /** Why a deal was left unchanged. */
  reason?: string
}

/**
 * Ends every running deal of `manifestCid` that the client's account opened (found from the Market's DealCreated
 * events of that owner since `fromBlock`), one transaction each, and says what each returned.
 *
 * @example
 * ```ts
 * const deals = await endFileDeals(chainClient, { manifestCid, fromBlock: network.deploymentBlock })
 * ```
 */
export async function endFileDeals(
  client: ChainClient,
  params: { manifestCid: string; fromBlock: bigint },
  options: AbortOptions = {},
): Promise<EndedDeal[]> {
  const head = await client.getBlockNumber({ cacheTime: 0 })
  const created = await readChainLogs(
    client,
    {
      contract: 'market',
      eventNames: ['DealCreated'],
      args: { owner: client.account.address },
      fromBlock: params.fromBlock,
      toBlock: head,
    },
    options,
  )
  const ids = created
    .filter((event) => manifestText(event.args.manifestCid) === params.manifestCid)
    .map((event) => BigInt(event.args.dealId as bigint))
  const out: EndedDeal[] = []
  for (const dealId of ids) {
    const deal = await getDeal(client, { dealId }, options)
    const { epoch } = await getEpochInfo(client, options)
    const base = { dealId: dealId.toString(), refund: '0', endEpoch: deal.endEpoch }
    if (deal.closed || epoch >= deal.endEpoch) {
      out.push({ ...base, outcome: 'already-ended' })
      continue
    }
    try {
      const receipt = await endDeal(client, { dealId }, options)
      const [ended] = parseEventLogs({ abi: marketAbi, eventName: 'DealEnded', logs: receipt.logs })
      out.push({
        ...base,
        outcome: 'ended',
        refund: String(ended?.args.refund ?? 0n),
        endEpoch: Number(ended?.args.endEpoch ?? deal.endEpoch),
        transactionHash: receipt.transactionHash,
      })
    } catch (error) {
      const name = (error as { details?: { errorName?: string } }).details?.errorName
      if (name !== 'NothingToShorten' && name !== 'DealHasEnded') throw error
      out.push({
        ...base,
        outcome: name === 'DealHasEnded' ? 'already-ended' : 'unchanged',
        reason: (error as Error).message,
      })
    }
  }
  return out
}

/** The manifest CID a DealCreated event carries (UTF-8 bytes, logged as hex). */
function manifestText(value: unknown): string {
  const text = String(value ?? '')
  try {
    return text.startsWith('0x') ? hexToString(text as Hex) : text
  } catch {
    return ''
  }
}
