import { useEffect, useState } from 'react'
import { importPageKey, pageWalletKey } from '../../../src/client/page-wallet.ts'
import { injectedProvider, walletStore } from '../peer/peer-session.ts'

/**
 * The browser wallet that pays for deals made from the page. With an injected wallet, that one (the page never sees
 * its key). Otherwise a key the page made and keeps in IndexedDB: the user can export it (after a confirm) and replace
 * it by importing one (on a devnet: the devnet's user.key). The key is shown only here and sent nowhere.
 */
export function WalletBox() {
  const injected = injectedProvider() !== undefined
  const [address, setAddress] = useState<string | undefined>(undefined)
  const [created, setCreated] = useState(false)
  const [exported, setExported] = useState<string | undefined>(undefined)
  const [paste, setPaste] = useState('')
  const [message, setMessage] = useState<string | undefined>(undefined)

  useEffect(() => {
    if (injected) return
    pageWalletKey(walletStore).then(
      (wallet) => {
        setAddress(wallet.address)
        setCreated(wallet.created)
      },
      (error: Error) => setMessage(error.message),
    )
  }, [injected])

  if (injected) {
    return (
      <div className="wallet-box" data-testid="wallet" data-kind="injected">
        <p>Deals are paid by the browser's wallet (it asks before signing).</p>
      </div>
    )
  }
  return (
    <div className="wallet-box" data-testid="wallet" data-kind="page">
      <p>
        Wallet kept in this page: <code data-testid="wallet-address">{address ?? '…'}</code>
        {created ? <span className="muted"> (new: fund it, or import a funded key)</span> : null}
      </p>
      <button
        type="button"
        data-testid="wallet-export"
        onClick={() => {
          if (!window.confirm('Show this page’s private key? Anyone who sees it can spend from this wallet.')) return
          pageWalletKey(walletStore).then(
            (wallet) => setExported(wallet.key),
            (error: Error) => setMessage(error.message),
          )
        }}
      >
        export key
      </button>
      {exported === undefined ? null : (
        <p>
          <code data-testid="wallet-key">{exported}</code>{' '}
          <button type="button" className="link" onClick={() => setExported(undefined)}>
            hide
          </button>
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault()
          importPageKey(walletStore, paste).then(
            (next) => {
              setAddress(next)
              setCreated(false)
              setExported(undefined)
              setPaste('')
              setMessage('key imported')
            },
            (error: Error) => setMessage(error.message),
          )
        }}
      >
        <input
          aria-label="private key"
          type="password"
          autoComplete="off"
          data-testid="wallet-import-key"
          value={paste}
          onChange={(e) => setPaste(e.target.value)}
          placeholder="import a private key (hex)"
        />
        <button type="submit" data-testid="wallet-import">
          import
        </button>
      </form>
      {message === undefined ? null : (
        <p className="muted" data-testid="wallet-message">
          {message}
        </p>
      )}
    </div>
  )
}
