import { useCallback } from 'react'
import type { ApiClient } from '../../../src/api/api-client.ts'
import { describeEvent } from '../components/event-feed.tsx'
import { SlotGrid } from '../components/slot-grid.tsx'
import { TreeBrowser } from '../components/tree-browser.tsx'
import { formatBytes, redundancyLabel } from '../format.ts'
import { type LiveEvent, usePolling } from '../use-events.ts'

export function FilePage({ api, capability, events }: { api: ApiClient; capability: string; events: LiveEvent[] }) {
  const relevant = events.filter(
    (e) =>
      e.type === 'node:state' ||
      ((e.type === 'repair:started' || e.type === 'repair:finished') &&
        e.manifest !== '' &&
        capability.includes(e.manifest)),
  )
  const loadStatus = useCallback((signal: AbortSignal) => api.status(capability, { signal }), [api, capability])
  const loadNodes = useCallback((signal: AbortSignal) => api.nodes({ signal }), [api])
  const { data: status, error } = usePolling(loadStatus, 3000, relevant[0]?.id)
  const { data: nodes } = usePolling(loadNodes, 3000, relevant[0]?.id)
  const repairs = relevant.filter((e) => e.type !== 'node:state')
  return (
    <section>
      <p>
        <a href="#/files">← files</a>
      </p>
      <h2>{status?.name ?? 'File'}</h2>
      {error !== undefined ? <p className="error">{error.message}</p> : null}
      {status === undefined ? (
        <p>loading…</p>
      ) : (
        <>
          <p className="summary">
            <span className={`badge health-${status.health}`} data-testid="health">
              {status.health}
            </span>{' '}
            {formatBytes(status.size)} · {redundancyLabel(status.k, status.n)} · {status.segmentsReadable}/
            {status.segments} segments readable · readable while {status.k} of {status.n} slots remain
          </p>
          {status.repairBlocked === undefined ? null : (
            <p className="error" data-testid="repair-blocked">
              Cannot repair: {status.repairBlocked}
            </p>
          )}
          <SlotGrid status={status} nodes={nodes} />
          <p>
            <a href={api.contentUrl(capability, { download: true })} download={status.name ?? 'file'}>
              download
            </a>{' '}
            ·{' '}
            <code className="capability" title="capability: whoever has it can read the file">
              {capability}
            </code>
          </p>
        </>
      )}
      <TreeBrowser capability={capability} />
      <h3>Repairs</h3>
      {repairs.length === 0 ? (
        <p className="muted">No repair of this file seen since the page opened.</p>
      ) : (
        <ul>
          {repairs.map((e) => (
            <li key={e.id}>{describeEvent(e)}</li>
          ))}
        </ul>
      )}
    </section>
  )
}
