import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react'
import { EventFeed } from './components/event-feed.tsx'
import { TokenForm } from './components/token-form.tsx'
import { shortId } from './format.ts'
import { parseHash } from './hash-route.ts'
import { BankPage } from './pages/bank-page.tsx'
import { FilePage } from './pages/file-page.tsx'
import { FilesPage } from './pages/files-page.tsx'
import { NetworkPage } from './pages/network-page.tsx'
import { DEFAULT_NETWORK_URL, hasNetworkFile } from './peer/network-url.ts'
import { forgetToken, openApi, readToken, saveToken } from './session.ts'
import { useEvents, usePolling } from './use-events.ts'

function useHashRoute(): string {
  const [hash, setHash] = useState(window.location.hash)
  useEffect(() => {
    const onChange = (): void => setHash(window.location.hash)
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return parseHash(hash).route
}

// the peer's code (libp2p, the data path, viem) loads only when the page works as a peer
const PeerFilesPage = lazy(() => import('./pages/peer-files-page.tsx'))

const TABS = [
  { path: '/network', label: 'Network' },
  { path: '/files', label: 'Files' },
  { path: '/bank', label: 'Deals & bank' },
]

/**
 * The dashboard: `#/peer` is the page as a peer (no gateway: files go straight between the page and the nodes);
 * every other page talks to the gateway that served it. Opened with no gateway token where a network.json sits next
 * to the page (any static server), it goes to `#/peer`.
 */
export function App() {
  const route = useHashRoute()
  // with no token, look for a network file first (a static server has one, a gateway none) before asking any API
  const [probing, setProbing] = useState(() => readToken() === undefined)
  useEffect(() => {
    if (!probing) return
    const controller = new AbortController()
    hasNetworkFile(DEFAULT_NETWORK_URL, { signal: controller.signal }).then((found) => {
      if (controller.signal.aborted) return
      if (found) window.location.hash = '#/peer'
      setProbing(false)
    })
    return () => controller.abort()
  }, [probing])
  if (route.startsWith('/peer')) return <PeerApp />
  if (probing) return null
  return <GatewayApp />
}

function PeerApp() {
  return (
    <div className="layout peer">
      <header>
        <h1>
          <span className="logo">▲</span> Cairn
        </h1>
        <nav>
          <a href="#/peer" className="active">
            Files (this page is a peer)
          </a>
        </nav>
      </header>
      <main>
        <Suspense fallback={<p className="muted">loading the peer…</p>}>
          <PeerFilesPage />
        </Suspense>
      </main>
    </div>
  )
}

function GatewayApp() {
  const [token, setToken] = useState(() => readToken())
  const [unauthorized, setUnauthorized] = useState(false)
  const api = useMemo(() => openApi(token), [token])
  const live = useEvents(token === undefined ? undefined : api)
  const route = useHashRoute()
  // a link carrying a token (`#/files&token=...`) opened in this tab: take the token, keep the page
  useEffect(() => {
    const onChange = (): void => {
      if (parseHash(window.location.hash).token !== undefined) setToken(readToken())
    }
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  const loadNodes = useCallback((signal: AbortSignal) => api.nodes({ signal }), [api])
  const { data: nodes } = usePolling(loadNodes, 10_000, token)
  const nameOf = useMemo(() => {
    const names = new Map<string, string>()
    for (const node of nodes ?? []) {
      const name = node.label ?? shortId(node.peerId)
      names.set(node.peerId, name)
      if (node.chain !== undefined) names.set(node.chain.address.toLowerCase(), name)
    }
    return (id: string | undefined) =>
      id === undefined ? '–' : (names.get(id) ?? names.get(id.toLowerCase()) ?? shortId(id))
  }, [nodes])

  useEffect(() => {
    api.files().then(
      () => {
        setUnauthorized(false)
        // download links carry no token: the gateway opens them with an HttpOnly session cookie
        api.openSession().catch(() => undefined)
      },
      (err: { code?: string }) => setUnauthorized(err.code === 'ERR_UNAUTHORIZED'),
    )
  }, [api])

  if (token === undefined || unauthorized) {
    return (
      <TokenForm
        wrong={unauthorized}
        onToken={(value) => {
          saveToken(value)
          setToken(value)
        }}
      />
    )
  }

  let page: React.ReactNode
  if (route.startsWith('/files/'))
    page = <FilePage api={api} capability={decodeURIComponent(route.slice('/files/'.length))} events={live.events} />
  else if (route === '/files') page = <FilesPage api={api} events={live.events} />
  else if (route === '/bank') page = <BankPage api={api} events={live.events} />
  else page = <NetworkPage api={api} events={live.events} />

  return (
    <div className="layout">
      <header>
        <h1>
          <span className="logo">▲</span> Cairn
        </h1>
        <nav>
          {TABS.map((tab) => (
            <a key={tab.path} href={`#${tab.path}`} className={route.startsWith(tab.path) ? 'active' : ''}>
              {tab.label}
            </a>
          ))}
        </nav>
        <span className={`live ${live.connected ? 'on' : 'off'}`} data-testid="live">
          {live.connected ? '● live' : '○ reconnecting'}
        </span>
        <button
          type="button"
          className="link"
          onClick={() => {
            api.closeSession().catch(() => undefined)
            forgetToken()
            setToken(undefined)
          }}
        >
          sign out
        </button>
      </header>
      <main>{page}</main>
      <aside>
        <EventFeed events={live.events} nameOf={nameOf} />
      </aside>
    </div>
  )
}
