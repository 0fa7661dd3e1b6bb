import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurable } from '../storage/index.ts'
import { MAX_SAVED_PEERS, PEERS_FILE } from './constants.ts'
import type { PeerView } from './interface.ts'

/** One remembered peer in `peers.json`. */
export interface SavedPeer {
  peerId: string
  multiaddrs: string[]
  /** Unix time in ms when the peer was last heard from. */
  lastSeenAt: number
}

/**
 * Reads the peers a node remembered in `dataDir/peers.json` (empty when the file is absent or damaged: the file is
 * only a hint for rejoining).
 */
export async function readSavedPeers(dataDir: string): Promise<SavedPeer[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dataDir, PEERS_FILE), 'utf8'))
    const list = (parsed as { peers?: unknown }).peers
    if (!Array.isArray(list)) return []
    return list.filter(
      (p): p is SavedPeer =>
        typeof p?.peerId === 'string' &&
        Array.isArray(p.multiaddrs) &&
        p.multiaddrs.every((m: unknown) => typeof m === 'string'),
    )
  } catch {
    return []
  }
}

/** Dialable multiaddrs (with `/p2p/<peer>`) of the remembered peers, for the network's peer sources. */
export function savedPeerAddresses(peers: SavedPeer[]): string[] {
  return peers.flatMap((p) => p.multiaddrs.map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${p.peerId}`)))
}

/**
 * Merges the peers seen now with those remembered and writes `dataDir/peers.json` atomically. Peers never seen for
 * a long time are dropped first when there are more than `MAX_SAVED_PEERS`.
 */
export async function writeSavedPeers(
  dataDir: string,
  seen: PeerView[],
  previous: SavedPeer[] = [],
): Promise<SavedPeer[]> {
  const byId = new Map<string, SavedPeer>()
  for (const p of previous) byId.set(p.peerId, p)
  const now = Date.now()
  for (const p of seen) {
    const old = byId.get(p.peerId)
    const multiaddrs = [...new Set(p.multiaddrs)]
    if (multiaddrs.length === 0 && old === undefined) continue
    byId.set(p.peerId, {
      peerId: p.peerId,
      multiaddrs: multiaddrs.length > 0 ? multiaddrs : old!.multiaddrs,
      lastSeenAt: Math.max(now - p.lastSeenMs, old?.lastSeenAt ?? 0),
    })
  }
  const peers = [...byId.values()].sort((a, b) => b.lastSeenAt - a.lastSeenAt).slice(0, MAX_SAVED_PEERS)
  await writeFileDurable(join(dataDir, PEERS_FILE), `${JSON.stringify({ peers }, null, 2)}\n`)
  return peers
}
