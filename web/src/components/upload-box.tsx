import { useEffect, useState } from 'react'
import type { ApiClient } from '../../../src/api/api-client.ts'
import type { QuoteInfo } from '../../../src/api/quote-info.ts'
import { formatBytes, formatTokens } from '../format.ts'
import { FileDrop, REDUNDANCY } from './file-drop.tsx'

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
  const [quote, setQuote] = useState<QuoteInfo | undefined>(undefined)

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
      <FileDrop
        hint="Drop files here, or click to choose"
        choice={choice}
        onChoice={setChoice}
        onFiles={(files) => void send(files)}
      />
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
