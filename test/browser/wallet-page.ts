/**
 * The page side of page-wallet.test.ts: src/client/page-wallet.ts over the page's IndexedDB, exposed as
 * `window.cairnWallet`.
 */
import { importPageKey, indexedDbKeyStore, pageWalletKey } from '../../src/client/page-wallet.ts'

const store = indexedDbKeyStore()

;(globalThis as unknown as { cairnWallet: unknown }).cairnWallet = {
  key: () => pageWalletKey(store),
  importKey: (text: string) =>
    importPageKey(store, text).then(
      (address) => ({ address }),
      (error: Error & { code?: string }) => ({ error: error.message, code: error.code }),
    ),
}
