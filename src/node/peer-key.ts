import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidArgumentError } from '../errors.ts'
import { writeFileDurable } from '../storage/index.ts'
import { PEER_KEY_FILE } from './constants.ts'

/**
 * Loads the node's Ed25519 libp2p key from `dataDir/peer.key`, creating it (mode 0600) on first start.
 *
 * @example
 * ```ts
 * const key = await loadOrCreatePeerKey('/var/lib/cairn')
 * ```
 */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, PEER_KEY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new InvalidArgumentError(`the key file ${path} is damaged: restore it from a backup or remove it`, {
        cause: err,
      })
    }
  }
  const key = await generateKeyPair('Ed25519')
  await writeFileDurable(path, privateKeyToProtobuf(key))
  return key
}
