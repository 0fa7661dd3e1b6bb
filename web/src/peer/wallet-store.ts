import { indexedDbKeyStore } from '../../../src/client/page-wallet.ts'

/** The page's wallet key store (one per origin; the page and its put worker open the same database). */
export const walletStore = indexedDbKeyStore()
