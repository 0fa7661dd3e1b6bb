/**
 * What `cairn put` of a file and of a folder (`put -r`) share: the deal flags, k and n (given, or chosen by
 * `--durability`), the Registry nodes a put may use, the progress bar with its warnings, opening the deal once the
 * pieces are stored, and marking it for auto-renewal.
 */
import { join } from 'node:path'
import {
  AUTO_RENEW_RECORD,
  type AutoRenewEntry,
  assertOffersWithinCap,
  type ClientProgressEvent,
  createAutoRenewRecords,
  DEFAULT_DEAL_DURATION_EPOCHS,
  DEFAULT_DEAL_MAX_PRICE,
  defaultRenewWithin,
  formatProbability,
  makeStorageDeal,
  readOffers,
  registeredNodes,
  type StorageDeal,
} from '../client/index.ts'
import { InvalidArgumentError, NotEnoughNodesError } from '../errors.ts'
import type { Network } from '../net/index.ts'
import { parseByteSize } from '../node/index.ts'
import { redundancyPolicy } from '../storage/index.ts'
import type { UserChain } from './chain-session.ts'
import type { NetworkLocation } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine, redundancyFlags } from './command-line.ts'
import { networkReader, planFromFlags } from './command-plan.ts'
import { shortPeerId } from './output.ts'
import { ProgressBar } from './progress-bar.ts'

/** The flags of a put that shape its deal and its segments. */
export interface PutDealFlags {
  /** --k and --n as given (checked); --durability may choose them later (putRedundancy). */
  k?: number
  n?: number
  segmentSize?: number
  duration?: number
  /** Token units per byte per epoch (the cap each node signs). */
  maxPrice?: bigint
  json: boolean
}

/**
 * Reads and checks `--k`, `--n`, `--segment-size`, `--duration`, `--max-price` and `--json` (and that --durability
 * is not given with --k/--n), before anything touches the disk or the network.
 */
export function putDealFlags(values: ParsedCommandLine['values']): PutDealFlags {
  const { k, n } = redundancyFlags(values)
  if (values.durability !== undefined && (k !== undefined || n !== undefined)) {
    throw new InvalidArgumentError('choose either --k/--n or --durability, not both')
  }
  const segmentText = values['segment-size']
  const segmentSize = typeof segmentText === 'string' ? parseByteSize(segmentText) : undefined
  const duration = integerFlag(values, 'duration', 1, 2 ** 32 - 1)
  const maxPriceText = values['max-price']
  if (maxPriceText !== undefined && (typeof maxPriceText !== 'string' || !/^\d+$/.test(maxPriceText))) {
    throw new InvalidArgumentError('--max-price must be a whole number of token units per byte per epoch')
  }
  return {
    ...(k === undefined ? {} : { k }),
    ...(n === undefined ? {} : { n }),
    ...(segmentSize === undefined ? {} : { segmentSize }),
    ...(duration === undefined ? {} : { duration }),
    ...(maxPriceText === undefined ? {} : { maxPrice: BigInt(maxPriceText) }),
    json: values.json === true,
  }
}

/** On chain: only Registry-active nodes within the price, at most one slot per operator, spread by registered /24. */
export async function putNodes(chain: UserChain | undefined, flags: PutDealFlags, context: CommandContext) {
  if (chain === undefined) return undefined
  return registeredNodes(chain.client, flags.maxPrice === undefined ? {} : { maxPricePerByteEpoch: flags.maxPrice }, {
    signal: context.signal,
  })
}

/**
 * A bar on a terminal; plain progress lines when stderr is a log or a pipe (unless --json asked for quiet output);
 * and the put's progress handler, which draws it and warns when a slot moved to another node.
 */
export function putProgress(context: CommandContext, init: { json: boolean; total?: number }) {
  const bar =
    context.showProgress || !init.json
      ? new ProgressBar({
          label: 'put',
          stream: context.stderr,
          plain: !context.showProgress,
          ...(init.total === undefined ? {} : { total: init.total }),
        })
      : undefined
  let read = 0
  const onProgress = (event: ClientProgressEvent): void => {
    if (event.type === 'put:read') bar?.update((read += event.bytes))
    else if (event.type === 'put:retry') {
      bar?.clear()
      const failed = `warning: node ${shortPeerId(event.from)} failed slot ${event.slot} (${event.error})`
      context.stderr.write(
        event.from === event.to ? `${failed}; retrying\n` : `${failed}; moved it to ${shortPeerId(event.to)}\n`,
      )
    } else if (event.type === 'put:manifest') bar?.note('storing manifest')
  }
  return { bar, onProgress }
}

/** On chain, opens the stored file's deal and waits until every holder confirmed its slot; off chain, nothing. */
export async function openPutDeal(
  chain: UserChain | undefined,
  network: Network,
  stored: Parameters<typeof makeStorageDeal>[1],
  flags: PutDealFlags,
  context: CommandContext,
): Promise<StorageDeal | undefined> {
  if (chain === undefined) return undefined
  return makeStorageDeal(
    chain.client,
    stored,
    {
      network,
      ...(flags.duration === undefined ? {} : { durationEpochs: flags.duration }),
      ...(flags.maxPrice === undefined ? {} : { maxPricePerByteEpoch: flags.maxPrice }),
      onProgress: (event) => {
        if (event.type === 'deal:created' && !flags.json) {
          context.stderr.write(`deal ${event.dealId} created; waiting for the ${stored.n} holders to confirm\n`)
        }
      },
    },
    { signal: context.signal },
  )
}

/**
 * k and n of a put: `--k`/`--n`, or with `--durability` the cheapest redundancy the live network offers that meets it
 * (`cairn plan` shows the model). On chain, also refuses before uploading a `--max-price` below the offers of n nodes,
 * naming the cheapest cap that works; and `--auto-renew` off chain.
 */
export async function putRedundancy(
  values: ParsedCommandLine['values'],
  location: NetworkLocation,
  chain: UserChain | undefined,
  flags: PutDealFlags,
  context: CommandContext,
): Promise<{ k?: number; n?: number }> {
  if (values['auto-renew'] === true && chain === undefined) {
    throw new InvalidArgumentError('--auto-renew needs a network with a chain: there is no deal to renew without one')
  }
  let { k, n } = flags
  if (values.durability !== undefined) {
    const planned = await planFromFlags(values, context, networkReader(location))
    if (!planned.plan.met) throw new NotEnoughNodesError(planned.plan.note ?? 'the durability cannot be met')
    ;({ k, n } = planned.plan)
    if (!flags.json) {
      context.stderr.write(
        `durability ${planned.durability} over ${planned.years} year(s): k=${k} n=${n} (loss probability ${formatProbability(planned.plan.lossProbability)})\n`,
      )
    }
  }
  if (chain !== undefined) {
    const offers = await readOffers(chain.client, {}, { signal: context.signal })
    assertOffersWithinCap(offers, redundancyPolicy(k, n).n, flags.maxPrice ?? DEFAULT_DEAL_MAX_PRICE)
  }
  return { ...(k === undefined ? {} : { k }), ...(n === undefined ? {} : { n }) }
}

/** With `--auto-renew`, records the put's deal for `cairn renew --due` and says so; else nothing. */
export async function markAutoRenew(
  values: ParsedCommandLine['values'],
  location: NetworkLocation,
  deal: StorageDeal | undefined,
  manifestCid: string,
  flags: PutDealFlags,
  context: CommandContext,
): Promise<AutoRenewEntry | undefined> {
  if (values['auto-renew'] !== true || deal === undefined) return undefined
  const extraEpochs = flags.duration ?? DEFAULT_DEAL_DURATION_EPOCHS
  const entry: AutoRenewEntry = {
    dealId: deal.dealId,
    manifestCid,
    extraEpochs,
    renewWithinEpochs: defaultRenewWithin(extraEpochs),
  }
  await createAutoRenewRecords(join(location.home, AUTO_RENEW_RECORD)).add(entry)
  if (!flags.json) {
    context.stderr.write(
      `deal ${deal.dealId} marked for auto-renewal: "cairn renew --due" (from a timer, docs/users.md) renews it by ${extraEpochs} epochs once ${entry.renewWithinEpochs} or fewer remain\n`,
    )
  }
  return entry
}
