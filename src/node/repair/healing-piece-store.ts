/**
 * The node's store as the network serves it: a stored manifest registers its file, and a read of a piece of this
 * node's slots that is missing or corrupt on disk is rebuilt from the other holders, rewritten and served.
 */
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CorruptDataError, NotFoundError } from '../../errors.ts'
import { MAX_MANIFEST_SIZE, type PieceStore } from '../../storage/index.ts'
import type { AbortOptions } from '../index.ts'

/** What the healing store asks of the repair service. */
export interface HealingPieceStoreHooks {
  /** A raw piece that looks like a manifest was stored; the put resolves once this does. */
  onManifestStored(cid: CID, bytes: Uint8Array): void | Promise<void>
  /** Whether a failed read of `cid` may be healed (a piece of this node's slots, while the service runs). */
  canHeal(cid: CID): boolean
  /** Rebuilds and rewrites the piece; returns its bytes. */
  heal(cid: CID, options?: AbortOptions): Promise<Uint8Array>
}

/**
 * Wraps `store`: puts register manifests, gets that fail as missing or corrupt heal the piece when they may (the
 * original error stands when healing fails), everything else passes through.
 */
export function createHealingPieceStore(store: PieceStore, hooks: HealingPieceStoreHooks): PieceStore {
  return {
    put: async (cid, bytes, options) => {
      await store.put(cid, bytes, options)
      if (cid.code === raw.code && looksLikeManifest(bytes)) await hooks.onManifestStored(cid, bytes)
    },
    get: async (cid, options) => {
      try {
        return await store.get(cid, options)
      } catch (err) {
        if (!(err instanceof CorruptDataError || err instanceof NotFoundError)) throw err
        if (!hooks.canHeal(cid)) throw err
        try {
          return await hooks.heal(cid, options)
        } catch {
          throw err
        }
      }
    },
    has: (cid, options) => store.has(cid, options),
    delete: (cid, options) => store.delete(cid, options),
    list: (options) => store.list(options),
    usage: () => store.usage(),
  }
}

/** A DAG-CBOR map (the manifest) small enough to be one; pieces are ciphertext and rarely pass this. */
function looksLikeManifest(bytes: Uint8Array): boolean {
  const first = bytes[0]
  return bytes.byteLength <= MAX_MANIFEST_SIZE && first !== undefined && first >= 0xa0 && first <= 0xbf
}
