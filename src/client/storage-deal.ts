/**
 * The client's side of a deal: after a put, it asks each slot's node to accept its slot (the node checks it holds the
 * slot's pieces and their root, then signs an EIP-712 acceptance of the deal's terms), opens the deal on chain with
 * escrow and those signatures, and waits until every holder confirmed its slot.
 */
import type { Address } from 'viem'
import {
  type ChainClient,
  type ChainReader,
  createDeal,
  getEpochInfo,
  getOperator,
  getSlots,
  listActiveNodes,
  type NodeRecord,
  type SlotAcceptance,
  slotAcceptanceSigner,
} from '../chain/index.ts'
import { InvalidArgumentError, NotEnoughNodesError, TimeoutError, UnauthorizedError } from '../errors.ts'
import { requestSlotAcceptance, type SlotAcceptanceRequester } from '../net/index.ts'
import { type AbortOptions, uploadTicketSigner } from '../node/index.ts'
import { DEFAULT_DEAL_DURATION_EPOCHS, SLOT_CHECK_BYTES_PER_S } from './constants.ts'
import { DEFAULT_DEAL_MAX_PRICE } from './deal-defaults.ts'
import type { Client, PutInit, PutResult, RegistryPlacement } from './interface.ts'

export interface StorageDealInit {
  /** Epochs the deal lasts (default DEFAULT_DEAL_DURATION_EPOCHS). */
  durationEpochs?: number
  /** Highest price per byte per epoch the user pays a node (default DEFAULT_DEAL_MAX_PRICE). */
  maxPricePerByteEpoch?: bigint
  /** How long to wait for every slot to be confirmed (default: three epochs plus 30 s). */
  activeTimeoutMs?: number
  onProgress?: (event: StorageDealEvent) => void
  /** The client's network: asks each slot's node for its signed acceptance (`/cairn/slot-accept/1.0.0`). */
  network: SlotAcceptanceRequester
}

export type StorageDealEvent =
  | { type: 'deal:accepted'; slot: number; peerId: string }
  | { type: 'deal:created'; dealId: string; escrow: string; startEpoch: number; endEpoch: number }
  | { type: 'deal:confirmed'; dealId: string; slot: number }
  | { type: 'deal:active'; dealId: string }

export interface StorageDeal {
  dealId: string
  escrow: string
  startEpoch: number
  endEpoch: number
  transactionHash: string
  slots: Array<{ index: number; peerId: string; node: Address }>
}

/** Operators read from the Registry at once while listing nodes. */
const OPERATOR_READS_AT_ONCE = 16

/**
 * The active nodes of the Registry by peer ID, a filter of those whose price is at most `maxPrice` (a node asking more
 * than the user pays is never sent pieces), and the put's placement: each node's operator (one slot per operator, as
 * the Market requires) and registered endpoints (the /24 spreading). Operators are read for the nodes within price.
 * When `reader` is a `ChainClient` (the wallet that will pay), the placement also signs the nodes' upload tickets.
 *
 * @example
 * ```ts
 * const { eligible, placement } = await registeredNodes(reader, { maxPricePerByteEpoch: 2_000_000n })
 * await client.put(source, { eligible, placement })
 * ```
 */
export async function registeredNodes(
  reader: ChainReader,
  params: { maxPricePerByteEpoch?: bigint } = {},
  options: AbortOptions = {},
): Promise<{
  byPeerId: Map<string, NodeRecord>
  eligible: (peerId: string) => boolean
  placement: RegistryPlacement
}> {
  const nodes = await listActiveNodes(reader, {}, options)
  const byPeerId = new Map(nodes.map((n) => [n.peerId, n]))
  const maxPrice = params.maxPricePerByteEpoch ?? DEFAULT_DEAL_MAX_PRICE
  const eligible = (peerId: string) => {
    const node = byPeerId.get(peerId)
    return node !== undefined && node.pricePerByteEpoch <= maxPrice
  }
  const operators = new Map<string, Address>()
  const within = nodes.filter((node) => node.pricePerByteEpoch <= maxPrice)
  for (let i = 0; i < within.length; i += OPERATOR_READS_AT_ONCE) {
    await Promise.all(
      within.slice(i, i + OPERATOR_READS_AT_ONCE).map(async (node) => {
        operators.set(node.peerId, await getOperator(reader, { node: node.account }, options))
      }),
    )
  }
  // A reader that is a wallet (the account that will pay the deal) signs the nodes' upload tickets.
  const payer = isWallet(reader) ? reader : undefined
  return {
    byPeerId,
    eligible,
    placement: {
      operatorOf: (peerId) => operators.get(peerId) ?? byPeerId.get(peerId)?.account,
      endpointsOf: (peerId) => byPeerId.get(peerId)?.multiaddrs.filter((m) => !m.includes('/0.0.0.0/')),
      ...(payer === undefined
        ? {}
        : { uploadTicket: uploadTicketSigner(payer, (peerId) => byPeerId.get(peerId)?.account) }),
      stillActive: async (again = {}) => {
        const active = new Set((await listActiveNodes(reader, {}, again)).map((n) => n.peerId))
        return (peerId) => active.has(peerId)
      },
    },
  }
}

/** True when `reader` is a `ChainClient`: it has an account that signs typed data. */
function isWallet(reader: ChainReader): reader is ChainReader & ChainClient {
  const candidate = reader as Partial<ChainClient>
  return candidate.account?.address !== undefined && typeof candidate.signTypedData === 'function'
}

/**
 * Opens the deal of a finished put (escrow from the client's wallet) and resolves once every slot is active.
 *
 * @example
 * ```ts
 * const put = await client.put(source, { eligible })
 * const deal = await makeStorageDeal(chainClient, put, { network, durationEpochs: 100 })
 * ```
 */
export async function makeStorageDeal(
  client: ChainClient,
  put: PutResult,
  init: StorageDealInit,
  options: AbortOptions = {},
): Promise<StorageDeal> {
  if (put.commitments === undefined || put.commitments.length !== put.n) {
    throw new InvalidArgumentError('the put result has no slot commitments: the deal needs each slot root')
  }
  const durationEpochs = init.durationEpochs ?? DEFAULT_DEAL_DURATION_EPOCHS
  const maxPricePerByteEpoch = init.maxPricePerByteEpoch ?? DEFAULT_DEAL_MAX_PRICE
  const { byPeerId, placement } = await registeredNodes(client, { maxPricePerByteEpoch }, options)
  const slots = put.slots.map((slot) => {
    const node = byPeerId.get(slot.peerId)
    if (node === undefined) {
      throw new NotEnoughNodesError(
        `node ${slot.peerId} holds slot ${slot.index} but is not an active node of the Registry: put again`,
      )
    }
    return { index: slot.index, peerId: slot.peerId, node: node.account }
  })
  assertDistinctOperators(slots, placement)
  const terms = { manifestCid: put.manifestCid, durationEpochs, maxPricePerByteEpoch }
  const acceptances = await acceptSlots(client, slots, put, { ...init, ...terms }, options)
  const created = await createDeal(
    client,
    {
      ...terms,
      size: BigInt(put.size),
      k: put.k,
      slots: slots.map((slot, i) => ({
        root: put.commitments![slot.index]!.root,
        size: BigInt(put.commitments![slot.index]!.size),
        node: slot.node,
        acceptance: acceptances[i]!,
      })),
    },
    options,
  )
  const dealId = created.dealId.toString()
  init.onProgress?.({
    type: 'deal:created',
    dealId,
    escrow: created.escrow.toString(),
    startEpoch: created.startEpoch,
    endEpoch: created.endEpoch,
  })
  const epoch = await getEpochInfo(client, options)
  // Each holder reads and hashes its whole slot before it confirms: the wait grows with the largest slot.
  const slotBytes = Math.max(...put.commitments.map((c) => Number(c.size)))
  const timeoutMs =
    init.activeTimeoutMs ??
    epoch.epochSeconds * 3_000 + 30_000 + Math.ceil((slotBytes / SLOT_CHECK_BYTES_PER_S) * 1_000)
  const deadline = Date.now() + timeoutMs
  const confirmed = new Set<number>()
  while (true) {
    options.signal?.throwIfAborted()
    const states = await getSlots(client, { dealId: created.dealId }, options)
    for (const slot of states) {
      if (slot.state === 'active' && !confirmed.has(slot.index)) {
        confirmed.add(slot.index)
        init.onProgress?.({ type: 'deal:confirmed', dealId, slot: slot.index })
      }
    }
    if (confirmed.size === states.length) break
    if (Date.now() > deadline) {
      const pending = states.filter((s) => s.state !== 'active').map((s) => s.index)
      throw new TimeoutError(
        `deal ${dealId} is not active after ${Math.round(timeoutMs / 1000)} s: slot(s) ${pending.join(', ')} not confirmed by their node (see "cairn deals")`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  init.onProgress?.({ type: 'deal:active', dealId })
  return {
    dealId,
    escrow: created.escrow.toString(),
    startEpoch: created.startEpoch,
    endEpoch: created.endEpoch,
    transactionHash: created.transactionHash,
    slots,
  }
}

/** Throws NotEnoughNodesError when two slots sit on nodes of one operator (the Market would revert DuplicateOperator). */
function assertDistinctOperators(slots: Array<{ index: number; peerId: string }>, placement: RegistryPlacement): void {
  const seen = new Map<string, { index: number; peerId: string }>()
  for (const slot of slots) {
    const operator = placement.operatorOf(slot.peerId)?.toLowerCase() ?? slot.peerId
    const first = seen.get(operator)
    if (first !== undefined) {
      throw new NotEnoughNodesError(
        `slots ${first.index} and ${slot.index} are on nodes of one operator (${operator}: ${first.peerId}, ${slot.peerId}) and the Market refuses such a deal (DuplicateOperator): put again with the placement of registeredNodes`,
        { details: { operator, slots: [first.index, slot.index] } },
      )
    }
    seen.set(operator, slot)
  }
}

/**
 * Asks every slot's node to sign its acceptance of the deal's terms, and checks each signature was made by the node's
 * registered account. Throws UnauthorizedError naming the node, the slot and the node's reason when one refuses.
 */
async function acceptSlots(
  client: ChainClient,
  slots: Array<{ index: number; peerId: string; node: Address }>,
  put: PutResult,
  init: StorageDealInit & { manifestCid: string; durationEpochs: number; maxPricePerByteEpoch: bigint },
  options: AbortOptions,
): Promise<SlotAcceptance[]> {
  const network = init.network
  const domain = { chainId: client.chain.id, contracts: client.contracts }
  return Promise.all(
    slots.map(async (slot) => {
      const commitment = put.commitments![slot.index]!
      const terms = {
        client: client.account.address,
        manifestCid: init.manifestCid,
        slotIndex: slot.index,
        root: commitment.root,
        size: BigInt(commitment.size),
        maxPricePerByteEpoch: init.maxPricePerByteEpoch,
        durationEpochs: init.durationEpochs,
      }
      const acceptance = await requestSlotAcceptance(network, slot.peerId, terms, options)
      const signer = await slotAcceptanceSigner(domain, { node: slot.node, terms, acceptance })
      if (signer.toLowerCase() !== slot.node.toLowerCase()) {
        throw new UnauthorizedError(
          `node ${slot.peerId} accepted slot ${slot.index} with a signature of ${signer}, not of its registered account ${slot.node}: choose another node`,
        )
      }
      init.onProgress?.({ type: 'deal:accepted', slot: slot.index, peerId: slot.peerId })
      return acceptance
    }),
  )
}

/**
 * Stores `source` through `client` on Registry-active nodes within the deal's price (one slot per operator, upload
 * tickets signed by `chain`, the paying wallet) and opens its deal; resolves once every slot is active.
 *
 * @example
 * ```ts
 * const { put, deal } = await putWithDeal(client, wallet, [bytes], { k: 2, n: 4 }, { network })
 * ```
 */
export async function putWithDeal(
  client: Pick<Client, 'put'>,
  chain: ChainClient,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  putInit: PutInit,
  dealInit: StorageDealInit,
  options: AbortOptions = {},
): Promise<{ put: PutResult; deal: StorageDeal }> {
  const price =
    dealInit.maxPricePerByteEpoch === undefined ? {} : { maxPricePerByteEpoch: dealInit.maxPricePerByteEpoch }
  const { eligible, placement } = await registeredNodes(chain, price, options)
  const put = await client.put(source, { ...putInit, eligible, placement }, options)
  const deal = await makeStorageDeal(chain, put, dealInit, options)
  return { put, deal }
}

/**
 * A client whose `put` stores only on nodes that take the deal and returns once the file's deal is active (the
 * gateway uses it so uploads from the dashboard or S3 are paid for like `cairn put`).
 *
 * @example
 * ```ts
 * const paying = withStorageDeals(client, userChainClient, { network, durationEpochs: 1_000 })
 * await paying.put(source)
 * ```
 */
export function withStorageDeals(client: Client, chain: ChainClient, init: StorageDealInit): Client {
  return {
    nodes: (options) => client.nodes(options),
    get: (capability, getInit, options) => client.get(capability, getInit, options),
    status: (capability, options) => client.status(capability, options),
    put: async (source, putInit = {}, options = {}) =>
      (await putWithDeal(client, chain, source, putInit, init, options)).put,
  }
}
