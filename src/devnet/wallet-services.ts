import { createDealRenewer, createQuoteService } from '../api/index.ts'
import type { ChainClient } from '../chain/index.ts'
import { endFileDeals, type FileRecordStore } from '../client/index.ts'

/**
 * What a gateway's wallet does on chain besides paying uploads: ending the deals of a removed file, quotes, and the
 * auto-renewal of the deals of files still in the user's record.
 *
 * @example
 * ```ts
 * const onChain = walletServices(wallet, records, network.deploymentBlock)
 * const files = createCairnFileService({ client, records, endDeals: onChain.endDeals })
 * ```
 */
export function walletServices(wallet: ChainClient, records: FileRecordStore, fromBlock: bigint) {
  return {
    endDeals: (manifestCid: string, options: { signal?: AbortSignal }) =>
      endFileDeals(wallet, { manifestCid, fromBlock }, options),
    quote: createQuoteService(wallet),
    renewer: createDealRenewer(
      { chain: wallet, isWanted: async (manifestCid) => (await records.find(manifestCid)) !== undefined },
      {
        fromBlock,
        // A renewal the wallet cannot pay, or that failed, is a warning on the gateway's log (stderr).
        onCheck: (check) => {
          if (check.status === 'unpaid' || check.status === 'failed') {
            process.stderr.write(`warning: cannot renew deal ${check.dealId}: ${check.message}\n`)
          }
        },
      },
    ),
  }
}
