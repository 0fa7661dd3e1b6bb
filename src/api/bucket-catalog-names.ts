/**
 * Where the S3 catalogs live: names of the gateway's wallet that only its key can derive (so a guessable bucket name
 * does not make its catalog readable), and the name store the catalog sync reads and writes them through: the Names
 * contract (one `eth_call` for a name's sequence, `updateName` for a compare-and-swap write).
 */
import { hkdfSync } from 'node:crypto'
import type { Hex } from 'viem'
import type { ChainClient } from '../chain/index.ts'
import { nameSequence, resolveName, updateName } from '../client/index.ts'
import {
  type BucketCatalogSync,
  type BucketCatalogSyncComponents,
  createBucketCatalogSync,
} from './bucket-catalog-sync.ts'
import type { AbortOptions } from './interface.ts'

/** The names a catalog sync reads and writes (the chain's, or an in-memory one in tests). */
export interface CatalogNameStore {
  /** The name's sequence (0: never published). */
  sequence(name: string, options?: AbortOptions): Promise<number>
  /** The capability the name points to now and its sequence (undefined: never published). */
  resolve(name: string, options?: AbortOptions): Promise<{ sequence: number; capability: string } | undefined>
  /**
   * Read-modify-write: `update` gets the current capability and returns the next one (undefined: nothing to write);
   * re-run on a conflict with another writer. Resolves with the sequence written (undefined: nothing written).
   */
  update(
    name: string,
    update: (current: string | undefined) => Promise<string | undefined>,
    options?: AbortOptions,
  ): Promise<number | undefined>
}

/** The private names of one wallet's S3 state: `s3/v1/<hex>` with hex = HKDF-SHA256(private key, label). */
export interface CatalogNames {
  /** The name of the bucket list. */
  readonly buckets: string
  /** The name of a bucket's catalog. */
  bucket(name: string): string
}

/**
 * The S3 names of the wallet whose private key is `privateKey`: nobody without the key can tell which names hold
 * the buckets, so neither can they open the records (a record's key comes from its name and owner).
 *
 * @example
 * ```ts
 * const names = catalogNames(privateKey)
 * await store.resolve(names.bucket('photos'))
 * ```
 */
export function catalogNames(privateKey: Hex): CatalogNames {
  const ikm = Buffer.from(privateKey.slice(2), 'hex')
  const derive = (label: string): string =>
    `s3/v1/${Buffer.from(hkdfSync('sha256', ikm, Buffer.from(label, 'utf8'), 'cairn/v1/s3-name', 32)).toString('hex')}`
  const buckets = derive('buckets')
  return { buckets, bucket: (name) => derive(`bucket:${name}`) }
}

/**
 * The name store of the Names contract, written by `client`'s wallet.
 *
 * @example
 * ```ts
 * const store = chainNameStore(createChainClient({ rpcUrl, chainId, privateKey, contracts }))
 * ```
 */
export function chainNameStore(client: ChainClient): CatalogNameStore {
  const owner = client.account.address
  return {
    sequence: (name, options = {}) => nameSequence(client, { name, owner }, options),
    async resolve(name, options = {}) {
      if ((await nameSequence(client, { name, owner }, options)) === 0) return undefined
      const entry = await resolveName(client, { name, owner }, options)
      return { sequence: entry.sequence, capability: entry.capability }
    },
    async update(name, update, options = {}) {
      const published = await updateName(
        client,
        { name, update: (current) => update(current?.capability), attempts: 10 },
        options,
      )
      return published?.sequence
    },
  }
}

/** What a gateway needs to keep its S3 buckets in names: the wallet (its chain client) and its private key. */
export interface S3NamesComponents {
  s3Names?: {
    /** The wallet: its names hold the catalogs. */
    client?: ChainClient
    /** Another name store instead of the client's (tests). */
    store?: CatalogNameStore
    privateKey: Hex
    /** How often queued S3 changes are published (DEFAULT_CATALOG_FLUSH_MS when absent). */
    flushMs?: number
    /** Keys a bucket may hold (MAX_CATALOG_KEYS when absent). */
    maxKeys?: number
  }
}

/**
 * The catalog sync of a gateway's S3 buckets, started; undefined when the gateway has no wallet (its index alone), or
 * when the network has no Names contract (then also said once on `log`).
 *
 * @example
 * ```ts
 * const catalog = await startS3Catalog({ files, index, s3Names: { client, privateKey } }, (line) => console.error(line))
 * ```
 */
export async function startS3Catalog(
  components: S3NamesComponents & Pick<BucketCatalogSyncComponents, 'files' | 'index'>,
  log: (line: string) => void,
): Promise<BucketCatalogSync | undefined> {
  const s3Names = components.s3Names
  if (s3Names === undefined) return undefined
  const store =
    s3Names.store ?? (s3Names.client?.contracts.names === undefined ? undefined : chainNameStore(s3Names.client))
  if (store === undefined) {
    log(
      "S3: this network has no Names contract, so buckets stay in this gateway's index only (another gateway of the same key does not see them); redeploy or upgrade the network file to share them",
    )
    return undefined
  }
  const catalog = createBucketCatalogSync(
    {
      files: components.files,
      index: components.index,
      store,
      names: catalogNames(s3Names.privateKey),
      log,
    },
    {
      ...(s3Names.flushMs === undefined ? {} : { flushMs: s3Names.flushMs }),
      ...(s3Names.maxKeys === undefined ? {} : { maxKeys: s3Names.maxKeys }),
    },
  )
  await catalog.start()
  return catalog
}
