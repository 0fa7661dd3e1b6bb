/**
 * Upload tickets (issue 12, finding 4): the paying account's consent to be charged for room on one node. A client
 * signs one with the wallet that will create and pay the deal (EIP-712, no transaction) and sends it with its reserve
 * request (`/cairn/slot-accept/1.0.0`, message 0x05); the node checks the signature, the expiry and that the account
 * can pay before it grants room, and keeps its quotas per account, so fresh libp2p keys make no room.
 *
 * Typed data: domain "Cairn Upload", version 1, the chain ID, the Market as verifying contract;
 * `UploadTicket(address node, uint64 bytes, uint64 expiry, uint256 nonce)` where `node` is the receiving node's
 * Registry account, `bytes` the room asked for, `expiry` unix seconds (at most MAX_TICKET_SECONDS ahead) and `nonce`
 * random (each ticket grants room once).
 */
import { type Address, bytesToHex, getAddress, type Hex, isAddressEqual, recoverTypedDataAddress } from 'viem'
import type { ChainClient } from '../chain/index.ts'
import type { WireUploadTicket } from '../net/index.ts'

/** Longest a ticket may live (s): a node refuses one expiring later. */
export const MAX_TICKET_SECONDS = 3_600
/** Clock difference tolerated between the signer and the node (s). */
export const TICKET_CLOCK_SKEW_SECONDS = 60

/** Where a ticket is valid: the chain and its Market. */
export interface UploadTicketDomain {
  chainId: number
  market: Address
}

const TYPES = {
  UploadTicket: [
    { name: 'node', type: 'address' },
    { name: 'bytes', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const

/**
 * The EIP-712 typed data of one ticket.
 *
 * @example
 * ```ts
 * const typed = uploadTicketTypedData({ chainId: 31337, market }, { node, bytes: 1_000_000, expiry, nonce: 1n })
 * ```
 */
export function uploadTicketTypedData(
  domain: UploadTicketDomain,
  params: { node: Address; bytes: number; expiry: number; nonce: bigint },
) {
  return {
    domain: { name: 'Cairn Upload', version: '1', chainId: domain.chainId, verifyingContract: domain.market },
    types: TYPES,
    primaryType: 'UploadTicket' as const,
    message: { node: params.node, bytes: BigInt(params.bytes), expiry: BigInt(params.expiry), nonce: params.nonce },
  }
}

/**
 * Signs a ticket for `bytes` of room on the node whose Registry account is `node`, valid `seconds` (at most
 * MAX_TICKET_SECONDS) from now, with `client`'s account (the account that will pay).
 *
 * @example
 * ```ts
 * const ticket = await signUploadTicket(userClient, { node: record.account, bytes: 16 << 20, seconds: 600 })
 * await reserveUpload(network, record.peerId, { bytes: 16 << 20, seconds: 600, ticket })
 * ```
 */
export async function signUploadTicket(
  client: ChainClient,
  params: { node: Address; bytes: number; seconds: number; now?: number },
): Promise<WireUploadTicket> {
  const now = params.now ?? Math.floor(Date.now() / 1000)
  const expiry = now + Math.min(Math.max(1, Math.floor(params.seconds)), MAX_TICKET_SECONDS)
  const nonce = BigInt(bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32))))
  const typed = uploadTicketTypedData(
    { chainId: client.chain.id, market: client.contracts.market },
    { node: params.node, bytes: params.bytes, expiry, nonce },
  )
  const signature: Hex = await client.signTypedData(typed)
  return { account: client.account.address, expiry, nonce, signature }
}

/**
 * What is wrong with `ticket` for `bytes` of room on the node `node` at unix second `now` (expired, too long, or not
 * signed by its account), or undefined when it holds.
 *
 * @example
 * ```ts
 * const problem = await uploadTicketProblem(domain, { node: me, bytes, ticket, now })
 * if (problem !== undefined) refuse(problem)
 * ```
 */
export async function uploadTicketProblem(
  domain: UploadTicketDomain,
  params: { node: Address; bytes: number; ticket: WireUploadTicket; now: number },
): Promise<string | undefined> {
  const { now } = params
  const ticket = { ...params.ticket, account: getAddress(params.ticket.account) }
  if (ticket.expiry <= now)
    return `the upload ticket of account ${ticket.account} expired at ${ticket.expiry}: sign a new one`
  if (ticket.expiry > now + MAX_TICKET_SECONDS + TICKET_CLOCK_SKEW_SECONDS) {
    return `the upload ticket of account ${ticket.account} expires in ${ticket.expiry - now} s (at most ${MAX_TICKET_SECONDS}): sign one that ends sooner`
  }
  const typed = uploadTicketTypedData(domain, {
    node: params.node,
    bytes: params.bytes,
    expiry: ticket.expiry,
    nonce: ticket.nonce,
  })
  let signer: Address
  try {
    signer = await recoverTypedDataAddress({ ...typed, signature: ticket.signature })
  } catch {
    return `the upload ticket's signature is malformed: sign it as EIP-712 UploadTicket (docs/protocol.md)`
  }
  if (!isAddressEqual(signer, ticket.account)) {
    return `the upload ticket is not signed by account ${ticket.account} for ${params.bytes} bytes on node ${params.node} (chain ${domain.chainId}, Market ${domain.market})`
  }
  return undefined
}

/** Signs the tickets of one put: for a node's peer ID, its ticket for `bytes` (undefined: the node is not known). */
export type UploadTicketSigner = (
  peerId: string,
  request: { bytes: number; seconds: number },
) => Promise<WireUploadTicket | undefined>

/**
 * A ticket signer paying with `client`'s account for the nodes `accountOf` knows (their Registry accounts).
 *
 * @example
 * ```ts
 * const sign = uploadTicketSigner(userClient, (peerId) => byPeerId.get(peerId)?.account)
 * ```
 */
export function uploadTicketSigner(
  client: ChainClient,
  accountOf: (peerId: string) => Address | undefined,
): UploadTicketSigner {
  return async (peerId, request) => {
    const node = accountOf(peerId)
    if (node === undefined) return undefined
    return signUploadTicket(client, { node, ...request })
  }
}
