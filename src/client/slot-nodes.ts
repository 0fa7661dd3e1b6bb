/** Choosing the nodes of a put: live, eligible for the deal, enough for n distinct slots, in placement order. */
import { NotEnoughNodesError } from '../errors.ts'
import { orderForPlacement, type PeerView } from '../node/index.ts'

/**
 * The nodes that may hold the `n` slots of a put, in placement order (the first `n` hold the slots, the rest are
 * spares). Throws `NotEnoughNodesError` naming the fix when fewer than `n` live nodes qualify.
 *
 * @example
 * ```ts
 * const ordered = slotNodes(await context.nodes(options), 3, (peerId) => withinPrice.has(peerId))
 * ```
 */
export function slotNodes(views: PeerView[], n: number, eligible?: (peerId: string) => boolean): PeerView[] {
  const alive = views.filter((p) => p.state === 'alive')
  const live = alive.filter((p) => eligible === undefined || eligible(p.peerId))
  if (live.length < n && alive.length >= n) {
    throw new NotEnoughNodesError(
      `only ${live.length} of the ${alive.length} live nodes take this deal (active in the Registry, price within --max-price) but --n ${n} needs ${n}: raise --max-price or lower --n`,
      { details: { live: live.length, alive: alive.length, n } },
    )
  }
  if (live.length < n) {
    throw new NotEnoughNodesError(
      `only ${live.length} live node${live.length === 1 ? ' is' : 's are'} known but --n ${n} needs ${n} distinct nodes: start more nodes or lower --n`,
      { details: { live: live.length, n } },
    )
  }
  return orderForPlacement(live)
}
