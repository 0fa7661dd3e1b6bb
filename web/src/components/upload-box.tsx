import { useEffect, useRef, useState } from 'react'
import type { ApiClient } from '../../../src/api/api-client.ts'
import type { QuoteInfo } from '../../../src/api/quote-info.ts'
import { formatBytes, formatTokens } from '../format.ts'

/** Redundancy choices; each obeys the storage layer's rule (redundancyPolicy: 1 <= k < n <= 255). */
export const REDUNDANCY = [
  { label: '3 copies (replication)', k: 1, n: 3 },
  { label: '2 of 4 (erasure, 2× size)', k: 2, n: 4 },
  { label: '4 of 6 (erasure, 1.5× size)', k: 4, n: 6 },
]

/** The size the dialog prices (prices are per byte: a file of half the size costs half). */
const QUOTE_BYTES = 2 ** 30

interface Upload {
  name: string
  size: number
  sent: number
  state: 'sending' | 'done' | 'failed'
  message?: string
}

export function UploadBox({ api, onUploaded }: { api: ApiClient; onUploaded: () => void }) {
  const [choice, setChoice] = useState(0)
  const [uploads, setUploads] = useState<Upload[]>([])
  const [over, setOver] = useState(false)
  const [quote, setQuote] = useState<QuoteInfo | undefined>(undefined)
  const input = useRef<HTMLInputElement>(null)

  // The price before paying, as `cairn quote` prints it, for 1 GiB at the chosen redundancy (off chain: none).
  useEffect(() => {
    const redundancy = REDUNDANCY[choice] ?? REDUNDANCY[0]!
    const controller = new AbortController()
    api
      .quote({ size: QUOTE_BYTES, k: redundancy.k, n: redundancy.n }, { signal: controller.signal })
      .then(setQuote, () => setQuote(undefined))
    return () => controller.abort()
  }, [api, choice])

  function update(index: number, change: Partial<Upload>): void {
    setUploads((list) => list.map((u, i) => (i === index ? { ...u, ...change } : u)))
  }

  async function send(files: FileList | File[]): Promise<void> {
    const redundancy = REDUNDANCY[choice] ?? REDUNDANCY[0]!
    for (const file of Array.from(files)) {
      let index = 0
      setUploads((list) => {
        index = list.length
        return [...list, { name: file.name, size: file.size, sent: 0, state: 'sending' }]
      })
      try {
        await api.upload(
          file,
          { name: file.name, k: redundancy.k, n: redundancy.n, ...(file.type === '' ? {} : { type: file.type }) },
          { onProgress: (e) => update(index, { sent: e.bytes }) },
        )
        update(index, { sent: file.size, state: 'done' })
        onUploaded()
      } catch (err) {
        update(index, { state: 'failed', message: (err as Error).message })
      }
    }
  }

  return (
    <div className="upload">
      <button
        type="button"
        className={`dropzone ${over ? 'over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault()
          setOver(false)
          void send(e.dataTransfer.files)
        }}
        onClick={() => input.current?.click()}
      >
        Drop files here, or click to choose
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        onChange={(e) => {
          if (e.target.files !== null) void send(e.target.files)
          e.target.value = ''
        }}
      />
      <label className="redundancy">
        Redundancy{' '}
        <select value={choice} onChange={(e) => setChoice(Number(e.target.value))} data-testid="redundancy">
          {REDUNDANCY.map((r, i) => (
            <option key={r.label} value={i}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      {quote === undefined ? null : (
        <p className="muted" data-testid="quote">
          Price for {formatBytes(QUOTE_BYTES)} over {quote.durationEpochs} epochs: {formatTokens(quote.total)} escrow (
          {formatTokens(quote.perEpoch)} per epoch, from {quote.nodes.length} nodes' offers)
        </p>
      )}
      <ul className="uploads">
        {uploads.map((u, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: uploads are only appended
          <li key={i} data-testid="upload" data-state={u.state}>
            <span>{u.name}</span>
            <progress max={Math.max(1, u.size)} value={u.sent} />
            <span className="muted">
              {u.state === 'failed'
                ? `failed: ${u.message}`
                : `${formatBytes(u.sent)} / ${formatBytes(u.size)}${u.state === 'done' ? ' ✓' : ''}`}
            </span>
          </li>
        ))}
      </ul>
    </div>
  )
}
