/**
 * The gateway's auto-renewal: it runs in the gateway's process (a gateway lives as long as its objects), every
 * `intervalMs` renewing the running deals of its wallet whose files it still serves (its S3 objects and API files:
 * `isWanted`) once they end within `renewWithinEpochs`, while the wallet can pay; a deal it cannot renew is reported
 * through `onCheck` (the gateway logs it and publishes it as an event), never thrown. The same rule as
 * `cairn renew --due` (src/client/renew.ts).
 */
import type { ChainClient } from '../chain/index.ts'
import { type AutoRenewEntry, defaultRenewWithin, type RenewalCheck, readDeals, renewDue } from '../client/index.ts'
import type { AbortOptions } from '../net/index.ts'

/** How often the gateway checks its deals (ms). */
export const DEFAULT_RENEW_CHECK_MS = 10 * 60_000
/** Epochs a gateway renewal adds (the CLI's default deal length). */
export const DEFAULT_GATEWAY_RENEW_EPOCHS = 1_000

export interface DealRenewerComponents {
  /** The gateway's wallet (it pays). */
  chain: ChainClient
  /** Whether the gateway still serves this manifest (an object or file not deleted). */
  isWanted: (manifestCid: string) => boolean | Promise<boolean>
}

export interface DealRenewerInit {
  /** The Market's deployment block (first block of the deal reads). */
  fromBlock: bigint
  intervalMs?: number
  /** Epochs each renewal adds (default DEFAULT_GATEWAY_RENEW_EPOCHS). */
  extraEpochs?: number
  /** Renew once this many epochs or fewer remain (default: a tenth of extraEpochs, at least 2). */
  renewWithinEpochs?: number
  /** Every check's outcome (renewed, not due, unpaid, ended, failed). */
  onCheck?: (check: RenewalCheck) => void
}

export interface DealRenewer {
  start(): void
  stop(): void
  /** One pass now (the timer calls it; tests call it directly). */
  tick(options?: AbortOptions): Promise<RenewalCheck[]>
}

/**
 * Creates the gateway's renewer.
 *
 * @example
 * ```ts
 * const renewer = createDealRenewer({ chain, isWanted: (cid) => index.hasManifest(cid) }, { fromBlock })
 * renewer.start()
 * ```
 */
export function createDealRenewer(components: DealRenewerComponents, init: DealRenewerInit): DealRenewer {
  const extraEpochs = init.extraEpochs ?? DEFAULT_GATEWAY_RENEW_EPOCHS
  const renewWithinEpochs = init.renewWithinEpochs ?? defaultRenewWithin(extraEpochs)
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined

  const tick = async (options: AbortOptions = {}): Promise<RenewalCheck[]> => {
    const { chain } = components
    const deals = await readDeals(chain, { fromBlock: init.fromBlock, owner: chain.account.address }, options)
    // The newest running deal of each wanted manifest.
    const newest = new Map<string, AutoRenewEntry>()
    for (const { view } of deals) {
      if (view.closed || view.epochsLeft === 0) continue
      if (!(await components.isWanted(view.manifestCid))) continue
      newest.set(view.manifestCid, {
        dealId: view.dealId,
        manifestCid: view.manifestCid,
        extraEpochs,
        renewWithinEpochs,
      })
    }
    const checks = await renewDue(chain, [...newest.values()], options)
    for (const check of checks) init.onCheck?.(check)
    return checks
  }

  return {
    tick,
    start() {
      if (timer !== undefined) return
      timer = setInterval(() => {
        if (running !== undefined) return
        running = tick({ signal: controller.signal })
          .catch(() => {})
          .finally(() => {
            running = undefined
          })
      }, init.intervalMs ?? DEFAULT_RENEW_CHECK_MS)
      timer.unref()
    },
    stop() {
      clearInterval(timer)
      timer = undefined
      controller.abort(new Error('the gateway stopped'))
    },
  }
}
