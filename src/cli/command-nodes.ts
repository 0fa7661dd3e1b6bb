import { NotFoundError } from '../errors.ts'
import { mergePeerViews, type PeerView } from '../node/index.ts'
import { controlApiViews, locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatAge, formatTable } from './output.ts'

/** `cairn nodes [--json]`: the storage nodes with their failure-detector state. */
export async function runNodes(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const location = await locateNetwork(parsed.values)
  let peers: PeerView[]
  if (location.devnet !== undefined) {
    // A devnet's nodes answer on their control APIs: no need to join the network.
    const views = await controlApiViews(location.apis, { signal: context.signal })
    peers = mergePeerViews(views)
    for (const node of location.devnet.nodes) {
      if (!peers.some((p) => p.peerId === node.peerId)) {
        peers.push({
          peerId: node.peerId,
          state: 'dead',
          lastSeenMs: Number.POSITIVE_INFINITY,
          multiaddrs: node.multiaddrs,
        })
      }
    }
  } else {
    const session = await openClientSession(location)
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      peers = await session.client.nodes({ signal: context.signal })
    } finally {
      await session.close()
    }
  }
  if (peers.length === 0) throw new NotFoundError('no storage node answered: is the devnet running? (cairn devnet)')
  if (parsed.values.json === true) {
    const out = peers.map((p) => ({
      peerId: p.peerId,
      state: p.state,
      lastSeenMs: Number.isFinite(p.lastSeenMs) ? p.lastSeenMs : null,
      multiaddrs: p.multiaddrs,
      ...(p.freeSpace === undefined ? {} : { freeSpace: p.freeSpace }),
      ...(p.version === undefined ? {} : { version: p.version }),
    }))
    context.stdout.write(`${JSON.stringify(out)}\n`)
  } else {
    context.stdout.write(
      formatTable(
        ['PEER', 'STATE', 'LAST SEEN', 'ADDRESS'],
        peers.map((p) => [p.peerId, p.state, formatAge(p.lastSeenMs), p.multiaddrs[0] ?? '-']),
      ),
    )
  }
  return 0
}
