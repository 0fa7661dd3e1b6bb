/**
 * The standing duty: the node registers (or updates) its Registry entry when it starts, updates its endpoints when its
 * addresses change (a relay reservation behind a NAT, a new port: at most once a minute), and once per epoch tops its
 * stake up and leaves jail, so that a node that missed a proof takes new deals again without its operator.
 */
import {
  addStake,
  type EpochInfo,
  getNode,
  registerNode,
  registryAbi,
  unjailNode,
  updateEndpoints,
  updateOffer,
} from '../../chain/index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import { DEFAULT_NODE_PRICE_PER_BYTE_EPOCH, DEFAULT_NODE_STAKE } from './constants.ts'

type NodeRecord = Awaited<ReturnType<typeof getNode>>

/** Least time between two endpoint updates (each is a transaction). */
export const ENDPOINT_UPDATE_INTERVAL_MS = 60_000

/** Keeps the node's Registry entry current and its standing (stake, not jailed) good. */
export class StandingKeeper {
  readonly #context: Pick<ChainDutyContext, 'client' | 'account' | 'components' | 'init' | 'emit'>
  #checkedEpoch = -1
  /** The addresses registered, as last written or read (undefined until the node entered). */
  #registered: string | undefined
  #updatedAt = Number.NEGATIVE_INFINITY

  constructor(context: Pick<ChainDutyContext, 'client' | 'account' | 'components' | 'init' | 'emit'>) {
    this.#context = context
  }

  /**
   * Registers the node with its stake, or updates its endpoints and offer when they changed and restores its
   * standing.
   */
  async enter(signal: AbortSignal): Promise<void> {
    const { client, account, components, init, emit } = this.#context
    const node = await getNode(client, { account }, { signal })
    const price = init.pricePerByteEpoch ?? DEFAULT_NODE_PRICE_PER_BYTE_EPOCH
    const capacity = components.capacity()
    const multiaddrs = components.multiaddrs().slice(0, 8)
    if (node.status === 'none') {
      const stake = init.stake ?? DEFAULT_NODE_STAKE
      await registerNode(
        client,
        { peerId: components.peerId(), multiaddrs, capacity, pricePerByteEpoch: price, stake },
        { signal },
      )
      emit({ type: 'chain:registered', account, stake: stake.toString() })
      this.#registered = multiaddrs.join(' ')
    } else {
      const same = node.peerId === components.peerId() && node.multiaddrs.join(' ') === multiaddrs.join(' ')
      if (!same) await updateEndpoints(client, { peerId: components.peerId(), multiaddrs }, { signal })
      this.#registered = multiaddrs.join(' ')
      this.#updatedAt = monotonicNow()
      if (node.pricePerByteEpoch !== price || node.capacity !== capacity) {
        await updateOffer(client, { capacity, pricePerByteEpoch: price }, { signal })
      }
      emit({ type: 'chain:endpoints', account })
      await this.#restore(node, signal)
    }
  }

  /** Updates the endpoints when the node's addresses changed; restores the node's standing once per epoch. */
  async tick(info: EpochInfo, signal: AbortSignal): Promise<void> {
    await this.#refreshEndpoints(signal)
    if (this.#checkedEpoch === info.epoch) return
    this.#checkedEpoch = info.epoch
    const { client, account } = this.#context
    await this.#restore(await getNode(client, { account }, { signal }), signal)
  }

  async #refreshEndpoints(signal: AbortSignal): Promise<void> {
    if (this.#registered === undefined || monotonicNow() - this.#updatedAt < ENDPOINT_UPDATE_INTERVAL_MS) return
    const { client, components, emit, account } = this.#context
    const multiaddrs = components.multiaddrs().slice(0, 8)
    if (multiaddrs.length === 0 || multiaddrs.join(' ') === this.#registered) return
    this.#updatedAt = monotonicNow()
    await updateEndpoints(client, { peerId: components.peerId(), multiaddrs }, { signal })
    this.#registered = multiaddrs.join(' ')
    emit({ type: 'chain:endpoints', account })
  }

  /**
   * Slashed below the minimum (or jailed): tops the stake up to the node's stake and asks to be active again, so that a node that missed
   * a proof (a slow epoch, a restart) takes new deals again without its operator. Not done by the test-only
   * fake-proofs fault, which plays a node that stays jailed.
   */
  async #restore(node: NodeRecord, signal: AbortSignal): Promise<void> {
    const { client, account, init, emit } = this.#context
    if (init.fakeProofs === true || (node.status !== 'active' && node.status !== 'jailed')) return
    const minStake = await client.readContract({
      address: client.contracts.registry,
      abi: registryAbi,
      functionName: 'minStake',
    })
    if (node.stake < minStake) {
      // Back to the node's own stake (its margin above the minimum included), not just to the minimum.
      let target = init.stake ?? DEFAULT_NODE_STAKE
      if (target < minStake) target = minStake
      await addStake(client, { amount: target - node.stake }, { signal })
      emit({ type: 'chain:staked', amount: String(target - node.stake) })
    }
    if (node.status === 'jailed') {
      await unjailNode(client, { signal })
      emit({ type: 'chain:unjailed', account })
    }
  }
}
