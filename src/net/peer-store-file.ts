/**
 * The peer store snapshot persisted in the node's data folder (`peerstore.json`), so a restarted node can rejoin even
 * when every bootstrap address is gone. Written with the storage layer's durable write (a temporary file of its own
 * random name, fsync, rename, fsync of the folder), so concurrent saves cannot race and a crash leaves the old or the
 * new snapshot; a missing or damaged file reads as empty.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurable } from '../storage/index.ts'
import { MAX_PERSISTED_PEERS, PEER_STORE_FILE } from './constants.ts'

export interface PersistedPeer {
  id: string
  addrs: string[]
}

interface PeersFile {
  format: 1
  savedAt: string
  peers: PersistedPeer[]
}

/**
 * @example
 * ```ts
 * const peers = await loadPersistedPeers('/var/lib/cairn')
 * ```
 */
export async function loadPersistedPeers(dataDir: string): Promise<PersistedPeer[]> {
  let text: string
  try {
    text = await readFile(join(dataDir, PEER_STORE_FILE), 'utf8')
  } catch {
    return []
  }
  try {
    const parsed = JSON.parse(text) as Partial<PeersFile>
    if (parsed.format !== 1 || !Array.isArray(parsed.peers)) return []
    return parsed.peers
      .filter(
        (peer): peer is PersistedPeer =>
          typeof peer?.id === 'string' && Array.isArray(peer.addrs) && peer.addrs.every((a) => typeof a === 'string'),
      )
      .slice(0, MAX_PERSISTED_PEERS)
  } catch {
    return []
  }
}

/**
 * Writes the snapshot (at most 1000 peers, in the given order of preference) durably.
 *
 * @example
 * ```ts
 * await savePersistedPeers('/var/lib/cairn', [{ id: '12D3Koo...', addrs: ['/ip4/10.0.0.2/tcp/4001'] }])
 * ```
 */
export async function savePersistedPeers(dataDir: string, peers: PersistedPeer[]): Promise<void> {
  const file: PeersFile = { format: 1, savedAt: new Date().toISOString(), peers: peers.slice(0, MAX_PERSISTED_PEERS) }
  await writeFileDurable(join(dataDir, PEER_STORE_FILE), `${JSON.stringify(file, null, 1)}\n`)
}
