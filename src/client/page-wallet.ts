/**
 * A page's own wallet, for browsers with no injected EIP-1193 wallet: a secp256k1 key generated in the page and kept
 * in the page's IndexedDB (one record, per origin). The user can export it (to keep it, or to fund its address) and
 * replace it by importing a key (on a devnet: the devnet's user key, `user.key`). The key is never sent anywhere: it
 * signs upload tickets, slot terms and the deal's transactions in the page, which send only signatures and signed
 * transactions.
 *
 * IndexedDB is a browser API: this module takes it as a component (`indexedDB` of the page by default) and types the
 * few calls it makes, so it type-checks without the DOM library.
 */
import { type Address, type Hex, isHex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { type ChainClient, type ChainContracts, createChainClient } from '../chain/index.ts'
import { CairnError, InvalidArgumentError } from '../errors.ts'
import type { BrowserNetwork } from './browser-client.ts'

/** Where a page keeps its wallet's key. */
export interface PageKeyStore {
  load(): Promise<Hex | undefined>
  save(key: Hex): Promise<void>
}

/** The few IndexedDB calls the store makes (the page's `indexedDB` has them). */
export interface IndexedDbFactory {
  open(name: string, version?: number): IndexedDbRequest<IndexedDbDatabase>
}
interface IndexedDbRequest<T> {
  result: T
  error: unknown
  onsuccess: (() => void) | null
  onerror: (() => void) | null
  onupgradeneeded?: (() => void) | null
}
interface IndexedDbDatabase {
  objectStoreNames: { contains(name: string): boolean }
  createObjectStore(name: string): unknown
  transaction(store: string, mode: 'readonly' | 'readwrite'): IndexedDbTransaction
  close(): void
}
interface IndexedDbTransaction {
  objectStore(name: string): {
    get(key: string): IndexedDbRequest<unknown>
    put(value: unknown, key: string): IndexedDbRequest<unknown>
  }
  oncomplete: (() => void) | null
  onerror: (() => void) | null
  onabort: (() => void) | null
  error: unknown
}

export interface IndexedDbKeyStoreInit {
  /** Default: the page's `indexedDB`. */
  factory?: IndexedDbFactory
  /** The database's name. Default 'cairn-wallet'. */
  database?: string
}

const STORE = 'keys'
const RECORD = 'wallet'

/**
 * A key store over the page's IndexedDB. A write resolves once its transaction completed (the browser made it
 * durable for the origin).
 *
 * @example
 * ```ts
 * const store = indexedDbKeyStore()
 * const { key } = await pageWalletKey(store)
 * ```
 */
export function indexedDbKeyStore(init: IndexedDbKeyStoreInit = {}): PageKeyStore {
  const factory = init.factory ?? (globalThis as { indexedDB?: IndexedDbFactory }).indexedDB
  const name = init.database ?? 'cairn-wallet'
  const open = (): Promise<IndexedDbDatabase> => {
    if (factory === undefined) {
      return Promise.reject(
        new CairnError(
          'this browser keeps no IndexedDB for the page (a private window?): use an injected wallet or a normal window',
        ),
      )
    }
    return new Promise((resolve, reject) => {
      const request = factory.open(name, 1)
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE)
      }
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(storageError('open', request.error))
    })
  }
  return {
    async load() {
      const db = await open()
      try {
        const value = await new Promise<unknown>((resolve, reject) => {
          const request = db.transaction(STORE, 'readonly').objectStore(STORE).get(RECORD)
          request.onsuccess = () => resolve(request.result)
          request.onerror = () => reject(storageError('read', request.error))
        })
        return typeof value === 'string' && isPrivateKey(value) ? value : undefined
      } finally {
        db.close()
      }
    },
    async save(key) {
      const checked = parsePrivateKey(key)
      const db = await open()
      try {
        await new Promise<void>((resolve, reject) => {
          const transaction = db.transaction(STORE, 'readwrite')
          transaction.objectStore(STORE).put(checked, RECORD)
          transaction.oncomplete = () => resolve()
          transaction.onerror = () => reject(storageError('write', transaction.error))
          transaction.onabort = () => reject(storageError('write', transaction.error))
        })
      } finally {
        db.close()
      }
    },
  }
}

function storageError(what: string, cause: unknown): CairnError {
  return new CairnError(
    `the page could not ${what} its wallet in IndexedDB (${(cause as Error)?.message ?? cause}): allow site storage for this page`,
    { cause },
  )
}

function isPrivateKey(value: string): value is Hex {
  return /^0x[0-9a-fA-F]{64}$/.test(value) && !/^0x0{64}$/.test(value)
}

/**
 * Checks a key the user pasted: 64 hex digits, with or without `0x`, surrounding blanks ignored.
 *
 * @example
 * ```ts
 * parsePrivateKey(' ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n') // '0xac09...'
 * ```
 */
export function parsePrivateKey(text: string): Hex {
  const trimmed = text.trim()
  const key = trimmed.startsWith('0x') ? trimmed : `0x${trimmed}`
  if (!isHex(key) || !isPrivateKey(key)) {
    throw new InvalidArgumentError(
      "the key is not a private key: paste 64 hexadecimal digits (with or without 0x), e.g. the devnet's user.key",
    )
  }
  return key
}

/** The page's wallet key and its address; `created` when this call generated it. */
export interface PageWalletKey {
  key: Hex
  address: Address
  created: boolean
}

/**
 * The page's key: the one kept in `store`, or a fresh one generated in the page and saved there first.
 *
 * @example
 * ```ts
 * const { address, created } = await pageWalletKey(indexedDbKeyStore())
 * if (created) show(`fund ${address} to pay for storage`)
 * ```
 */
export async function pageWalletKey(store: PageKeyStore): Promise<PageWalletKey> {
  const kept = await store.load()
  if (kept !== undefined) return { key: kept, address: privateKeyToAddress(kept), created: false }
  const key = generatePrivateKey()
  await store.save(key)
  return { key, address: privateKeyToAddress(key), created: true }
}

/**
 * Replaces the page's key by `text` (checked first: a bad paste keeps the old key); returns the new address.
 *
 * @example
 * ```ts
 * await importPageKey(indexedDbKeyStore(), pastedKey)
 * ```
 */
export async function importPageKey(store: PageKeyStore, text: string): Promise<Address> {
  const key = parsePrivateKey(text)
  await store.save(key)
  return privateKeyToAddress(key)
}

/**
 * A `ChainClient` over the page's key for the network of the network file: putFromPage pays deals with it.
 *
 * @example
 * ```ts
 * const wallet = pageWallet((await pageWalletKey(indexedDbKeyStore())).key, client.network)
 * await putFromPage(client, wallet, [bytes])
 * ```
 */
export function pageWallet(key: Hex, network: BrowserNetwork): ChainClient {
  return createChainClient({
    rpcUrl: network.rpc,
    ...(network.rpcFallbacks === undefined ? {} : { fallbackRpcUrls: network.rpcFallbacks }),
    chainId: network.chainId,
    privateKey: parsePrivateKey(key),
    contracts: network.contracts as unknown as ChainContracts,
  })
}
