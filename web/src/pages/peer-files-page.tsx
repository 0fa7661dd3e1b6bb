import { useEffect, useState } from 'react'
import { putFromPage } from '../../../src/client/browser-put.ts'
import { FileDrop, REDUNDANCY } from '../components/file-drop.tsx'
import { WalletBox } from '../components/wallet-box.tsx'
import { formatBytes } from '../format.ts'
import { fileChunks } from '../peer/file-chunks.ts'
import { savedNetworkUrl, saveNetworkUrl } from '../peer/network-url.ts'
import {
  injectedProvider,
  loadNetworkFile,
  openPeerSession,
  type PeerSession,
  type PutProgress,
  payingWallet,
  putInWorker,
} from '../peer/peer-session.ts'

interface PeerUpload {
  name: string
  size: number
  sent: number
  stage: string
  state: 'sending' | 'done' | 'failed'
  capability?: string
  message?: string
}

interface PeerDownload {
  bytes: number
  total: number
  state: 'reading' | 'done' | 'failed'
  message?: string
}

/**
 * The Files page with the page as a peer: a dropped file is compressed, encrypted and erasure-coded here, its pieces
 * go straight to the nodes of the network file, and the deal is paid from the browser wallet; the capability shown is
 * the only copy of the key. A pasted capability is read straight from the nodes, decoded here and saved as a file.
 */
export default function PeerFilesPage() {
  const [networkUrl, setNetworkUrl] = useState(savedNetworkUrl)
  const [draftUrl, setDraftUrl] = useState(networkUrl)
  const [session, setSession] = useState<PeerSession | undefined>(undefined)
  const [status, setStatus] = useState('reading the network file…')
  const [choice, setChoice] = useState(1)
  const [uploads, setUploads] = useState<PeerUpload[]>([])
  const [capability, setCapability] = useState('')
  const [saveAs, setSaveAs] = useState('')
  const [download, setDownload] = useState<PeerDownload | undefined>(undefined)

  useEffect(() => {
    const controller = new AbortController()
    let opened: PeerSession | undefined
    setSession(undefined)
    setStatus(`reading the network file (${networkUrl})…`)
    loadNetworkFile(networkUrl, { signal: controller.signal })
      .then((text) => {
        setStatus('dialling the storage nodes…')
        return openPeerSession(text, { signal: controller.signal })
      })
      .then(
        (next) => {
          opened = next
          if (controller.signal.aborted) return void next.stop()
          setSession(next)
          setStatus(`connected to ${next.client.nodes().length} storage nodes, no gateway in between`)
        },
        (error: Error) => {
          if (!controller.signal.aborted) setStatus(`not connected: ${error.message}`)
        },
      )
    return () => {
      controller.abort()
      void opened?.stop()
    }
  }, [networkUrl])

  function update(index: number, change: Partial<PeerUpload>): void {
    setUploads((list) => list.map((u, i) => (i === index ? { ...u, ...change } : u)))
  }

  async function send(files: FileList | File[]): Promise<void> {
    if (session === undefined) return
    const redundancy = REDUNDANCY[choice] ?? REDUNDANCY[0]!
    for (const file of Array.from(files)) {
      let index = 0
      setUploads((list) => {
        index = list.length
        return [...list, { name: file.name, size: file.size, sent: 0, stage: 'encoding', state: 'sending' }]
      })
      // the bar follows what reached the nodes: pieces stored, counted in plaintext bytes (k of every n pieces)
      let encoded = 0
      let storedBytes = 0
      let pieces = 0
      const onEvent = (event: PutProgress): void => {
        if (event.type === 'put:read') {
          encoded += event.bytes ?? 0
          update(index, { stage: `${formatBytes(Math.min(encoded, file.size))} encoded` })
        } else if (event.type === 'put:piece') {
          pieces += 1
          storedBytes += event.bytes ?? 0
          const sent = Math.min(encoded, Math.floor((storedBytes * redundancy.k) / redundancy.n), file.size)
          update(index, { sent, stage: `${pieces} pieces stored on nodes` })
        } else if (event.type === 'deal:accepted') update(index, { stage: 'nodes accepted the slots' })
        else if (event.type === 'deal:created') update(index, { stage: `deal ${event.dealId} created` })
        else if (event.type === 'worker:connecting') update(index, { stage: 'worker dialling the nodes' })
        else if (event.type === 'worker:connected') update(index, { stage: 'worker connected, encoding' })
      }
      try {
        // with the page's own wallet the encode runs in a Web Worker (the page stays responsive); an injected wallet
        // lives on the page's thread, and so does the put then (also when the worker reaches no node over WebSockets)
        const inWorker =
          injectedProvider() === undefined && typeof Worker !== 'undefined'
            ? await putInWorker({ networkText: session.networkText, file, k: redundancy.k, n: redundancy.n }, onEvent)
            : undefined
        let result = inWorker
        if (result === undefined) {
          const { put, deal } = await putFromPage(
            session.client,
            await payingWallet(session.client),
            fileChunks(file),
            {
              k: redundancy.k,
              n: redundancy.n,
              metadata: { name: file.name, mtime: file.lastModified, ...(file.type === '' ? {} : { type: file.type }) },
              onProgress: onEvent,
            },
          )
          result = { capability: put.capability, dealId: deal.dealId }
        }
        update(index, {
          sent: file.size,
          state: 'done',
          stage: `deal ${result.dealId}${inWorker === undefined ? '' : ' (encoded in a worker)'}`,
          capability: result.capability,
        })
      } catch (error) {
        update(index, { state: 'failed', message: (error as Error).message })
      }
    }
  }

  async function fetchFile(): Promise<void> {
    if (session === undefined) return
    const wanted = capability.trim()
    setDownload({ bytes: 0, total: 0, state: 'reading' })
    try {
      const parts: BlobPart[] = []
      let bytes = 0
      let total = 0
      for await (const chunk of session.client.get(wanted, {
        onProgress: (event) => {
          if (event.type === 'get:manifest') total = event.size
        },
      })) {
        parts.push(chunk as Uint8Array<ArrayBuffer>)
        bytes += chunk.byteLength
        setDownload({ bytes, total, state: 'reading' })
      }
      const url = URL.createObjectURL(new Blob(parts))
      const link = document.createElement('a')
      link.href = url
      link.download = saveAs.trim() === '' ? 'cairn-file' : saveAs.trim()
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
      setDownload({ bytes, total: bytes, state: 'done' })
    } catch (error) {
      setDownload({ bytes: 0, total: 0, state: 'failed', message: (error as Error).message })
    }
  }

  return (
    <section>
      <h2>Files, from this page</h2>
      <p className="muted" data-testid="peer-status" data-connected={session === undefined ? 'no' : 'yes'}>
        {status}
      </p>
      <form
        className="network-url"
        onSubmit={(event) => {
          event.preventDefault()
          saveNetworkUrl(draftUrl.trim())
          setNetworkUrl(draftUrl.trim())
        }}
      >
        <label>
          Network file{' '}
          <input aria-label="network file URL" value={draftUrl} onChange={(e) => setDraftUrl(e.target.value)} />
        </label>{' '}
        <button type="submit">use</button>
      </form>
      <WalletBox />
      <div className="upload">
        <FileDrop
          hint="Drop files here, or click to choose: they are encrypted here and stored straight to the nodes"
          disabled={session === undefined}
          choice={choice}
          onChoice={setChoice}
          onFiles={(files) => void send(files)}
        />
        <ul className="uploads">
          {uploads.map((u, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: uploads are only appended
            <li key={i} data-testid="upload" data-state={u.state}>
              <span>{u.name}</span>
              <progress max={Math.max(1, u.size)} value={u.sent} data-testid="upload-progress" />
              <span className="muted">
                {u.state === 'failed'
                  ? `failed: ${u.message}`
                  : `${formatBytes(u.sent)} / ${formatBytes(u.size)} · ${u.stage}${u.state === 'done' ? ' ✓' : ''}`}
              </span>
              {u.capability === undefined ? null : (
                <p>
                  Capability (the only copy of the key: keep it) <code data-testid="capability">{u.capability}</code>
                </p>
              )}
            </li>
          ))}
        </ul>
      </div>
      <h3>Download</h3>
      <form
        className="peer-download"
        onSubmit={(event) => {
          event.preventDefault()
          void fetchFile()
        }}
      >
        <input
          aria-label="capability"
          data-testid="get-capability"
          value={capability}
          onChange={(e) => setCapability(e.target.value)}
          placeholder="cairn:…#…"
        />
        <input
          aria-label="save as"
          data-testid="get-name"
          value={saveAs}
          onChange={(e) => setSaveAs(e.target.value)}
          placeholder="file name"
        />
        <button type="submit" data-testid="get" disabled={session === undefined || capability.trim() === ''}>
          download
        </button>
      </form>
      {download === undefined ? null : (
        <p data-testid="download-state" data-state={download.state}>
          <progress max={Math.max(1, download.total)} value={download.bytes} />{' '}
          {download.state === 'failed'
            ? `failed: ${download.message}`
            : `${formatBytes(download.bytes)}${download.total > 0 ? ` / ${formatBytes(download.total)}` : ''}${download.state === 'done' ? ' ✓ saved' : ''}`}
        </p>
      )}
    </section>
  )
}
