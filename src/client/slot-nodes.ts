/**
 * Choosing the nodes of a put: live, eligible for the deal, at most one per operator, enough for n distinct slots, in
 * placement order.
 */
import { NotEnoughNodesError } from '../errors.ts'
import { orderForPlacement, type PeerView } from '../node/index.ts'
import type { RegistryPlacement } from './interface.ts'

/**
 * The nodes that may hold the `n` slots of a put, in placement order (the first `n` hold the slots, the rest are
 * spares). With `placement` (the Registry's view), slots spread over the /24s of the nodes' registered endpoints and
 * each operator keeps one node (a random one): the others are skipped, spares included, so no retry can give an
 * operator a second slot. Throws `NotEnoughNodesError` naming the fix when fewer than `n` nodes qualify.
 *
 * @example
 * ```ts
 * const { eligible, placement } = await registeredNodes(reader)
 * const ordered = slotNodes(await context.nodes(options), 3, eligible, placement)
 * ```
 */
export function slotNodes(
  views: PeerView[],
  n: number,
  eligible?: (peerId: string) => boolean,
  placement?: RegistryPlacement,
): PeerView[] {
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
  if (placement === undefined) return orderForPlacement(live)
  // Spread by the registered endpoints (heartbeat addresses are what a node says of itself), then hand back the views.
  const byPeer = new Map(live.map((p) => [p.peerId, p]))
  const ranked = orderForPlacement(
    live.map((p) => {
      const endpoints = placement.endpointsOf(p.peerId)
      return endpoints === undefined || endpoints.length === 0 ? p : { ...p, multiaddrs: endpoints }
    }),
  ).map((p) => byPeer.get(p.peerId)!)
  const kept = new Map<string, string>()
  const skipped: string[] = []
  const ordered = ranked.filter((p) => {
    const operator = placement.operatorOf(p.peerId)?.toLowerCase() ?? p.peerId
    const first = kept.get(operator)
    if (first === undefined) {
      kept.set(operator, p.peerId)
      return true
    }
    skipped.push(`${p.peerId} (operator ${operator} also runs ${first})`)
    return false
  })
  if (ordered.length < n) {
    throw new NotEnoughNodesError(
      `only ${ordered.length} of the ${live.length} live nodes that take this deal have distinct operators but --n ${n} needs ${n} (the Market refuses two slots of one deal to one operator): skipped ${skipped.join(', ')}; start nodes of other operators or lower --n`,
      { details: { operators: ordered.length, live: live.length, n, skipped } },
    )
  }
  return ordered
}
