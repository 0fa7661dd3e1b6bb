import { type Address, bytesToString, type Hex, hexToBytes, stringToBytes, toHex } from 'viem'
import { atBlock } from './chain-client.ts'
import { toCairnError } from './contract-errors.ts'
import { registryAbi } from './generated/index.ts'
import type { ChainCallOptions, ChainClient, ChainReader, NodeRecord, NodeStatus, PaymentMethod } from './interface.ts'
import { signPermit } from './token-actions.ts'
import { sendTransaction } from './transaction.ts'

const STATUS: NodeStatus[] = ['none', 'active', 'jailed', 'unbonding', 'exited']

export interface RegisterParams {
  /** libp2p peer ID in its text form. */
  peerId: string
  multiaddrs: string[]
  /** Bytes the node offers. */
  capacity: bigint
  pricePerByteEpoch: bigint
  /** Stake to lock (at least the Registry's minimum). */
  stake: bigint
  /** 'permit' (default): one transaction with a signed permit; 'allowance': uses a prior `approve`. */
  payment?: PaymentMethod
}

/**
 * Registers the client's account as a storage node with its peer ID, multiaddrs, offer and stake.
 *
 * @example
 * ```ts
 * await registerNode(client, { peerId: peer.toString(), multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
 *   capacity: 10n ** 12n, pricePerByteEpoch: 1_000_000n, stake: 1000n * 10n ** 18n })
 * ```
 */
export async function registerNode(client: ChainClient, params: RegisterParams, options: ChainCallOptions = {}) {
  const peerId = toHex(stringToBytes(params.peerId))
  const base = [peerId, params.multiaddrs, params.capacity, params.pricePerByteEpoch, params.stake] as const
  if ((params.payment ?? 'permit') === 'permit') {
    const permit = await signPermit(client, { spender: 'registry', value: params.stake }, options)
    return sendTransaction(
      client,
      'register',
      {
        address: client.contracts.registry,
        abi: registryAbi,
        functionName: 'registerWithPermit',
        args: [...base, permit],
      },
      options,
    )
  }
  return sendTransaction(
    client,
    'register',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'register', args: base },
    options,
  )
}

/**
 * Adds stake to the client's node (a jailed node then calls `unjailNode`).
 *
 * @example
 * ```ts
 * await addStake(client, { amount: 500n * 10n ** 18n })
 * ```
 */
export async function addStake(
  client: ChainClient,
  params: { amount: bigint; payment?: PaymentMethod },
  options: ChainCallOptions = {},
) {
  if ((params.payment ?? 'permit') === 'permit') {
    const permit = await signPermit(client, { spender: 'registry', value: params.amount }, options)
    return sendTransaction(
      client,
      'addStake',
      {
        address: client.contracts.registry,
        abi: registryAbi,
        functionName: 'addStakeWithPermit',
        args: [params.amount, permit],
      },
      options,
    )
  }
  return sendTransaction(
    client,
    'addStake',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'addStake', args: [params.amount] },
    options,
  )
}

/**
 * Publishes new endpoints for the client's node.
 *
 * @example
 * ```ts
 * await updateEndpoints(client, { peerId: peer.toString(), multiaddrs: ['/ip4/10.0.0.2/tcp/4001'] })
 * ```
 */
export async function updateEndpoints(
  client: ChainClient,
  params: { peerId: string; multiaddrs: string[] },
  options: ChainCallOptions = {},
) {
  return sendTransaction(
    client,
    'updateEndpoints',
    {
      address: client.contracts.registry,
      abi: registryAbi,
      functionName: 'updateEndpoints',
      args: [toHex(stringToBytes(params.peerId)), params.multiaddrs],
    },
    options,
  )
}

/**
 * Publishes a new capacity and price for the client's node.
 *
 * @example
 * ```ts
 * await updateOffer(client, { capacity: 2n ** 40n, pricePerByteEpoch: 900_000n })
 * ```
 */
export async function updateOffer(
  client: ChainClient,
  params: { capacity: bigint; pricePerByteEpoch: bigint },
  options: ChainCallOptions = {},
) {
  return sendTransaction(
    client,
    'updateOffer',
    {
      address: client.contracts.registry,
      abi: registryAbi,
      functionName: 'updateOffer',
      args: [params.capacity, params.pricePerByteEpoch],
    },
    options,
  )
}

/**
 * Returns a jailed node to service (its stake must be at least the minimum).
 *
 * @example
 * ```ts
 * await unjailNode(client)
 * ```
 */
export async function unjailNode(client: ChainClient, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'unjail',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'unjail', args: [] },
    options,
  )
}

/**
 * Starts unbonding: the node takes no new slot; its stake unlocks after the delay once it holds no slot.
 *
 * @example
 * ```ts
 * await unbondNode(client)
 * ```
 */
export async function unbondNode(client: ChainClient, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'unbond',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'unbond', args: [] },
    options,
  )
}

/**
 * Withdraws the whole stake of an unbonded node.
 *
 * @example
 * ```ts
 * await withdrawStake(client)
 * ```
 */
export async function withdrawStake(client: ChainClient, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'withdrawStake',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'withdrawStake', args: [] },
    options,
  )
}

/**
 * The node names the account that operates it (two-step: it takes effect when that account calls `acceptNode`);
 * its own address makes it its own operator again at once. The Market refuses two slots of one deal to one operator.
 *
 * @example
 * ```ts
 * await setOperator(nodeClient, { operator: operatorAddress })
 * await acceptNode(operatorClient, { node: nodeClient.account.address })
 * ```
 */
export async function setOperator(client: ChainClient, params: { operator: Address }, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'setOperator',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'setOperator', args: [params.operator] },
    options,
  )
}

/**
 * The operator accepts a node that named it (`setOperator`).
 *
 * @example
 * ```ts
 * await acceptNode(operatorClient, { node })
 * ```
 */
export async function acceptNode(client: ChainClient, params: { node: Address }, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'acceptNode',
    { address: client.contracts.registry, abi: registryAbi, functionName: 'acceptNode', args: [params.node] },
    options,
  )
}

/**
 * The account operating `node` (the node itself unless an operator accepted it).
 *
 * @example
 * ```ts
 * const operator = await getOperator(reader, { node })
 * ```
 */
export async function getOperator(
  client: ChainReader,
  params: { node: Address },
  options: ChainCallOptions = {},
): Promise<Address> {
  try {
    return await client.readContract({
      address: client.contracts.registry,
      abi: registryAbi,
      functionName: 'operatorOf',
      args: [params.node],
    })
  } catch (error) {
    throw toCairnError(error, 'getOperator', options.signal)
  }
}

type NodeView = {
  account: Address
  status: number
  stake: bigint
  pricePerByteEpoch: bigint
  capacity: bigint
  unbondAt: bigint
  activeSlots: number
  missedProofs: number
  lastProvedEpoch: bigint
  hasProved: boolean
  peerId: Hex
  multiaddrs: readonly string[]
}

function toNodeRecord(v: NodeView): NodeRecord {
  return {
    account: v.account,
    status: STATUS[v.status] ?? 'none',
    stake: v.stake,
    pricePerByteEpoch: v.pricePerByteEpoch,
    capacity: v.capacity,
    unbondAt: Number(v.unbondAt),
    activeSlots: v.activeSlots,
    missedProofs: v.missedProofs,
    lastProvedEpoch: v.hasProved ? Number(v.lastProvedEpoch) : undefined,
    peerId: bytesToString(hexToBytes(v.peerId)),
    multiaddrs: [...v.multiaddrs],
  }
}

/**
 * The Registry's record of a node (status 'none' when it never registered).
 *
 * @example
 * ```ts
 * const node = await getNode(reader, { account: '0x...' })
 * ```
 */
export async function getNode(
  client: ChainReader,
  params: { account: Address },
  options: ChainCallOptions = {},
): Promise<NodeRecord> {
  try {
    const view = await client.readContract({
      address: client.contracts.registry,
      abi: registryAbi,
      functionName: 'getNode',
      args: [params.account],
      ...atBlock(options),
    })
    return toNodeRecord(view)
  } catch (error) {
    throw toCairnError(error, 'getNode', options.signal)
  }
}

/**
 * Active nodes with their endpoints, fetched page by page (a new node uses this as one more bootstrap source).
 *
 * @example
 * ```ts
 * for (const node of await listActiveNodes(reader)) console.log(node.peerId, node.multiaddrs)
 * ```
 */
export async function listActiveNodes(
  client: ChainReader,
  params: { pageSize?: number; limit?: number } = {},
  options: ChainCallOptions = {},
): Promise<NodeRecord[]> {
  const pageSize = BigInt(params.pageSize ?? 50)
  const limit = params.limit ?? Number.POSITIVE_INFINITY
  const nodes: NodeRecord[] = []
  try {
    for (let offset = 0n; nodes.length < limit; offset += pageSize) {
      options.signal?.throwIfAborted()
      const page = await client.readContract({
        address: client.contracts.registry,
        abi: registryAbi,
        functionName: 'activeNodes',
        args: [offset, pageSize],
      })
      for (const view of page) if (nodes.length < limit) nodes.push(toNodeRecord(view))
      if (BigInt(page.length) < pageSize) break
    }
    return nodes
  } catch (error) {
    throw toCairnError(error, 'listActiveNodes', options.signal)
  }
}
