/**
 * The addresses a node registers in the Registry, where strangers look it up: its announce addresses when the
 * operator gave some; else what its host listens on and holds, without loopback (useless to anyone else, except on a
 * devnet where everything is loopback), relayed `/p2p-circuit` addresses first when the node learnt it is not
 * reachable directly (a node behind a NAT), at most MAX_REGISTERED_ADDRESSES. Within that cap every transport the node
 * listens on keeps a place (TCP, WebSocket, WebRTC-direct: browsers dial only the last two), an announced
 * WebRTC-direct address gets the host's certhash (it cannot be dialled without it), and an address longer than the
 * Registry takes (MAX_REGISTERED_ADDRESS_BYTES) is left out rather than failing the whole registration.
 */
import { interleaveTransports, type Reachability } from '../net/index.ts'

/** Most addresses a node registers (the Registry takes 8). */
export const MAX_REGISTERED_ADDRESSES = 8
/** Longest address the Registry takes, in UTF-8 bytes (Registry.MAX_MULTIADDR_LENGTH). */
export const MAX_REGISTERED_ADDRESS_BYTES = 256

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
  const fits = (address: string) => new TextEncoder().encode(address).byteLength <= MAX_REGISTERED_ADDRESS_BYTES
  if (init.announce.length > 0) {
    return init.announce
      .map((address) => withCerthash(address, addresses))
      .filter(fits)
      .slice(0, MAX_REGISTERED_ADDRESSES)
  }
  const outside = addresses.filter((address) => !LOOPBACK.test(address))
  const usable = (outside.length > 0 ? outside : [...addresses]).filter(fits)
  const relayed = interleaveTransports(usable.filter((address) => address.includes('/p2p-circuit')))
  const direct = interleaveTransports(usable.filter((address) => !address.includes('/p2p-circuit')))
  const ordered = init.reachability === 'private' ? [...relayed, ...direct] : [...direct, ...relayed]
  return ordered.slice(0, MAX_REGISTERED_ADDRESSES)
}

/** An announced `.../webrtc-direct` without its certhash, completed from the host's matching address when it has one. */
function withCerthash(address: string, hostAddresses: readonly string[]): string {
  if (!address.split('/').includes('webrtc-direct') || address.includes('/certhash/')) return address
  const base = address.split('/p2p/')[0]!
  return hostAddresses.find((host) => host.startsWith(`${base}/certhash/`)) ?? address
}
