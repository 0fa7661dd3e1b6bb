/**
 * Who may reserve room on a node (issue 12, finding 4). Off chain: any peer, per peer (a devnet; nothing is paid).
 * On chain: a peer presenting an upload ticket (upload-ticket.ts) signed by an account that can pay, with the quotas
 * counted per account; or, without a ticket, a Registry-active staked node (a repairer pushing a rebuilt slot: its
 * stake is the collateral, its Registry record binds its peer ID to its account). Anyone else is refused, naming why.
 *
 * "Can pay": the account's token balance covers the Market's charge (`slotCharge`: payment and fee) of one epoch of
 * every byte it holds reserved here, this request included, at this node's price. The balance is one `balanceOf`
 * call, cached BALANCE_CACHE_MS per account. Each ticket's nonce is used once (a replay by another peer key is refused).
 */
import { type Address, getAddress } from 'viem'
import { type ChainClient, cairnTokenAbi, marketAbi } from '../chain/index.ts'
import type { WireUploadTicket } from '../net/index.ts'
import type { AbortOptions } from '../storage/index.ts'
import { monotonicNow } from './monotonic-clock.ts'
import { MAX_RESERVATIONS, type ReserveAnswer, type UploadReservations } from './upload-reservations.ts'
import { uploadTicketProblem } from './upload-ticket.ts'

/** How long an account's token balance is trusted after it was read (ms). */
export const BALANCE_CACHE_MS = 30_000
/** Most accounts whose balance is remembered. */
const MAX_CACHED_BALANCES = 10_000
/** Most ticket nonces remembered (each until its ticket expires). */
const MAX_USED_NONCES = 2 * MAX_RESERVATIONS

export interface UploadAdmissionComponents {
  reservations: Pick<UploadReservations, 'reserve' | 'reservedForAccount'>
  /** The node's chain account; undefined off chain. */
  chain: ChainClient | undefined
  /** Whether a peer is a Registry-active staked node. */
  isStaked: (peerId: string) => boolean
  /** This node's price per byte per epoch (cached by the caller). */
  price: (chain: ChainClient, signal: AbortSignal | undefined) => Promise<bigint>
  /** Wall clock in ms (tests): upload tickets' expiries are Unix seconds signed by the payer. */
  now?: () => number
}

export interface UploadAdmission {
  reserve(
    peer: string,
    request: { bytes: number; seconds: number; ticket?: WireUploadTicket },
    options: AbortOptions,
  ): Promise<ReserveAnswer>
}

/**
 * Creates the reservation gate of a node's consent policy.
 *
 * @example
 * ```ts
 * const admission = createUploadAdmission({ reservations, chain, isStaked, price })
 * const answer = await admission.reserve(peer, { bytes, seconds, ticket }, { signal })
 * ```
 */
export function createUploadAdmission(components: UploadAdmissionComponents): UploadAdmission {
  const { reservations } = components
  const usedNonces = new Map<string, number>()
  const balances = new Map<string, { value: bigint; at: number }>()
  const now = () => components.now?.() ?? Date.now()
  const refuse = (reason: string): ReserveAnswer => ({ type: 'reserve-response', granted: false, reason })

  const balanceOf = async (chain: ChainClient, account: Address, signal: AbortSignal | undefined) => {
    const key = account.toLowerCase()
    const cached = balances.get(key)
    if (cached !== undefined && monotonicNow() - cached.at < BALANCE_CACHE_MS) return cached.value
    if (signal?.aborted) throw signal.reason
    const value = await chain.readContract({
      address: chain.contracts.token,
      abi: cairnTokenAbi,
      functionName: 'balanceOf',
      args: [account],
    })
    balances.delete(key)
    balances.set(key, { value, at: monotonicNow() })
    if (balances.size > MAX_CACHED_BALANCES) balances.delete(balances.keys().next().value!)
    return value
  }

  const oneEpochCharge = async (chain: ChainClient, bytes: number, signal: AbortSignal | undefined) => {
    const price = await components.price(chain, signal)
    const [payment, fee] = await chain.readContract({
      address: chain.contracts.market,
      abi: marketAbi,
      functionName: 'slotCharge',
      args: [BigInt(bytes), price],
    })
    return payment + fee
  }

  return {
    async reserve(peer, request, options) {
      const chain = components.chain
      if (chain === undefined) return reservations.reserve(peer, request.bytes, request.seconds)
      const ticket =
        request.ticket === undefined ? undefined : { ...request.ticket, account: getAddress(request.ticket.account) }
      if (ticket === undefined) {
        if (components.isStaked(peer)) return reservations.reserve(peer, request.bytes, request.seconds)
        return refuse(
          `this node is on chain: an upload reservation needs an upload ticket signed by the account that will pay (EIP-712 UploadTicket, docs/protocol.md), and peer ${peer} sent none and is not a staked node`,
        )
      }
      const seconds = Math.floor(now() / 1000)
      const domain = { chainId: chain.chain.id, market: chain.contracts.market }
      const node = chain.account.address
      const problem = await uploadTicketProblem(domain, { node, bytes: request.bytes, ticket, now: seconds })
      if (problem !== undefined) return refuse(problem)
      for (const [key, expiry] of usedNonces) if (expiry <= seconds) usedNonces.delete(key)
      const nonceKey = `${ticket.account.toLowerCase()}:${ticket.nonce}`
      if (usedNonces.has(nonceKey)) {
        return refuse(
          `the upload ticket of account ${ticket.account} with nonce ${ticket.nonce} was used: sign a new one`,
        )
      }
      if (usedNonces.size >= MAX_USED_NONCES) return refuse(`the node holds ${usedNonces.size} live tickets: try later`)
      const total = reservations.reservedForAccount(ticket.account) + request.bytes
      const [balance, charge] = await Promise.all([
        balanceOf(chain, ticket.account, options.signal),
        oneEpochCharge(chain, total, options.signal),
      ])
      if (balance < charge) {
        return refuse(
          `account ${ticket.account} holds ${balance} token units, less than ${charge}, the least one epoch of ${total} bytes costs at this node (payment and fee): fund the account or reserve less`,
        )
      }
      const lifetime = Math.min(request.seconds, ticket.expiry - seconds)
      const answer = reservations.reserve(peer, request.bytes, lifetime, ticket.account)
      if (answer.granted) usedNonces.set(nonceKey, ticket.expiry)
      return answer
    },
  }
}
