/**
 * The addresses a node registers in the Registry, where strangers look it up: its announce addresses when the
 * operator gave some; else what its host listens on and holds, without loopback (useless to anyone else, except on a
 * devnet where everything is loopback), relayed `/p2p-circuit` addresses first when the node learnt it is not
 * reachable directly (a node behind a NAT), at most MAX_REGISTERED_ADDRESSES.
 */
import type { Reachability } from '../net/index.ts'

/** Most addresses a node registers (the Registry takes 8). */
export const MAX_REGISTERED_ADDRESSES = 8

const LOOPBACK = /^\/(ip4\/127\.|ip6\/::1\/|dns4?\/localhost\/)/

/**
 * Chooses the registered addresses from the host's.
 *
 * @example
 * ```ts
 * registryAddresses(network.multiaddrs(), { announce: [], reachability: network.reachability().reachability })
 * ```
 */
export function registryAddresses(
  addresses: readonly string[],
  init: { announce: readonly string[]; reachability: Reachability },
): string[] {
  if (init.announce.length > 0) return init.announce.slice(0, MAX_REGISTERED_ADDRESSES)
  const outside = addresses.filter((address) => !LOOPBACK.test(address))
  const usable = outside.length > 0 ? outside : [...addresses]
  const relayed = usable.filter((address) => address.includes('/p2p-circuit'))
  const direct = usable.filter((address) => !address.includes('/p2p-circuit'))
  const ordered = init.reachability === 'private' ? [...relayed, ...direct] : [...direct, ...relayed]
  return ordered.slice(0, MAX_REGISTERED_ADDRESSES)
}
