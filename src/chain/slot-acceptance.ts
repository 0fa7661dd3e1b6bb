import {
  type Address,
  bytesToHex,
  encodeAbiParameters,
  type Hex,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
  toHex,
} from 'viem'
import { InvalidArgumentError } from '../errors.ts'
import { toCairnError } from './contract-errors.ts'
import type { CreateDealParams } from './deal-actions.ts'
import type { ChainCallOptions, ChainClient, ChainContracts } from './interface.ts'

/**
 * What a node consents to when it accepts one slot of a deal (EIP-712 `SlotTerms`): the deal's owner, its manifest,
 * the slot's index, Merkle root and size, the price cap and the duration. The Market adds itself.
 */
export interface SlotTerms {
  /** The account that will call `createDeal` (the deal's owner). */
  client: Address
  /** The manifest's CID in text form (the Market hashes its bytes). */
  manifestCid: string
  slotIndex: number
  root: Hex
  size: bigint
  maxPricePerByteEpoch: bigint
  durationEpochs: number
}

/** A node's signed consent to one slot, as `createDeal` takes it per slot. */
export interface SlotAcceptance {
  /** Chosen by the node (random): the same terms signed twice are two consents, each usable once. */
  nonce: bigint
  /** Unix seconds: the last second `createDeal` may use it. */
  expiry: number
  /** EIP-712 signature by the node's registered account. */
  signature: Hex
}

/** Where acceptances are checked: the chain and the contracts (the Registry is the EIP-712 verifying contract). */
export interface AcceptanceDomain {
  chainId: number
  contracts: Pick<ChainContracts, 'market' | 'registry'>
}

const TYPES = {
  SlotAcceptance: [
    { name: 'node', type: 'address' },
    { name: 'terms', type: 'SlotTerms' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
  ],
  SlotTerms: [
    { name: 'market', type: 'address' },
    { name: 'client', type: 'address' },
    { name: 'manifestCidHash', type: 'bytes32' },
    { name: 'slotIndex', type: 'uint8' },
    { name: 'root', type: 'bytes32' },
    { name: 'size', type: 'uint64' },
    { name: 'maxPricePerByteEpoch', type: 'uint128' },
    { name: 'durationEpochs', type: 'uint32' },
  ],
} as const

/**
 * The EIP-712 typed data a node signs to accept one slot (domain "Cairn Registry", version 1, this chain, the
 * Registry; the Market's address is in the terms).
 *
 * @example
 * ```ts
 * const typed = slotAcceptanceTypedData(devchain, { node, terms, nonce: 1n, expiry: now + 600 })
 * ```
 */
export function slotAcceptanceTypedData(
  domain: AcceptanceDomain,
  params: { node: Address; terms: SlotTerms; nonce: bigint; expiry: number },
) {
  const { terms } = params
  if (!Number.isInteger(terms.slotIndex) || terms.slotIndex < 0 || terms.slotIndex > 255) {
    throw new InvalidArgumentError(`invalid slot index ${terms.slotIndex}: expected an integer from 0 to 255`)
  }
  return {
    domain: {
      name: 'Cairn Registry',
      version: '1',
      chainId: domain.chainId,
      verifyingContract: domain.contracts.registry,
    },
    types: TYPES,
    primaryType: 'SlotAcceptance' as const,
    message: {
      node: params.node,
      terms: {
        market: domain.contracts.market,
        client: terms.client,
        manifestCidHash: keccak256(stringToBytes(terms.manifestCid)),
        slotIndex: terms.slotIndex,
        root: terms.root,
        size: terms.size,
        maxPricePerByteEpoch: terms.maxPricePerByteEpoch,
        durationEpochs: terms.durationEpochs,
      },
      nonce: params.nonce,
      expiry: BigInt(params.expiry),
    },
  }
}

/** A random 256-bit nonce for an acceptance. */
export function randomAcceptanceNonce(): bigint {
  return BigInt(bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32))))
}

/**
 * The node signs its consent to one slot with its account (no transaction). Call it only for a slot whose data the
 * node holds and whose terms it accepts: every deal slot naming it needs one, and each is usable once.
 *
 * @example
 * ```ts
 * const acceptance = await signSlotAcceptance(nodeClient, { terms, expiry: Math.floor(Date.now() / 1000) + 600 })
 * ```
 */
export async function signSlotAcceptance(
  client: ChainClient,
  params: { terms: SlotTerms; expiry: number; nonce?: bigint },
  options: ChainCallOptions = {},
): Promise<SlotAcceptance> {
  const nonce = params.nonce ?? randomAcceptanceNonce()
  const typed = slotAcceptanceTypedData(
    { chainId: client.chain.id, contracts: client.contracts },
    { node: client.account.address, terms: params.terms, nonce, expiry: params.expiry },
  )
  try {
    const signature = await client.signTypedData(typed)
    return { nonce, expiry: params.expiry, signature }
  } catch (error) {
    throw toCairnError(error, 'signSlotAcceptance', options.signal)
  }
}

/**
 * The account that signed `acceptance` for `terms`, as the Registry recovers it (compare it with the slot's node
 * before sending a deal: a wrong signature makes `createDeal` revert with `SlotNotAccepted`).
 *
 * @example
 * ```ts
 * if ((await slotAcceptanceSigner(devchain, { node, terms, acceptance })) !== node) throw new Error('not signed')
 * ```
 */
export async function slotAcceptanceSigner(
  domain: AcceptanceDomain,
  params: { node: Address; terms: SlotTerms; acceptance: SlotAcceptance },
): Promise<Address> {
  const { acceptance } = params
  const typed = slotAcceptanceTypedData(domain, { ...params, nonce: acceptance.nonce, expiry: acceptance.expiry })
  return recoverTypedDataAddress({ ...typed, signature: acceptance.signature })
}

/** The acceptance as `DealParams.acceptances[i]` carries it: ABI-encoded (uint256 nonce, uint64 expiry, bytes). */
export function encodeSlotAcceptance(acceptance: SlotAcceptance | undefined): Hex {
  if (acceptance === undefined) return '0x'
  return encodeAbiParameters(
    [{ type: 'uint256' }, { type: 'uint64' }, { type: 'bytes' }],
    [acceptance.nonce, BigInt(acceptance.expiry), acceptance.signature],
  )
}

/** `root` as the 0x-hex the typed data and the Market take. */
export function rootHex(root: Hex | Uint8Array): Hex {
  return typeof root === 'string' ? root : toHex(root)
}

/**
 * `params` with every slot's acceptance signed by its node, for a deal `owner` opens: for tools and tests that hold the
 * nodes' keys themselves (a real client asks each node over `/cairn/slot-accept/1.0.0`). A slot whose node is not
 * among `signers` is left as it is. Valid for `seconds` (default an hour) of chain time.
 *
 * @example
 * ```ts
 * await createDeal(user, await signDealAcceptances(user, [nodeA, nodeB], params))
 * ```
 */
export async function signDealAcceptances(
  owner: ChainClient,
  signers: ChainClient[],
  params: CreateDealParams,
  seconds = 3600,
): Promise<CreateDealParams> {
  const { timestamp } = await owner.getBlock({ blockTag: 'latest' })
  const slots = await Promise.all(
    params.slots.map(async (slot, slotIndex) => {
      const signer = signers.find((s) => s.account.address === slot.node)
      if (signer === undefined) return slot
      const terms = {
        client: owner.account.address,
        manifestCid: params.manifestCid,
        slotIndex,
        root: rootHex(slot.root),
        size: slot.size,
        maxPricePerByteEpoch: params.maxPricePerByteEpoch,
        durationEpochs: params.durationEpochs,
      }
      return { ...slot, acceptance: await signSlotAcceptance(signer, { terms, expiry: Number(timestamp) + seconds }) }
    }),
  )
  return { ...params, slots }
}
