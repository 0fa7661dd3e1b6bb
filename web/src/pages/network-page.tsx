import { useCallback } from 'react'
import type { ApiClient } from '../../../src/api/api-client.ts'
import { StateBadge } from '../components/state-badge.tsx'
import { ago, formatBytes, formatTokens, shortId } from '../format.ts'
import { type LiveEvent, usePolling } from '../use-events.ts'

export function NetworkPage({ api, events }: { api: ApiClient; events: LiveEvent[] }) {
  const lastNodeEvent = events.find((e) => e.type === 'node:state')?.id
  const load = useCallback((signal: AbortSignal) => api.nodes({ signal }), [api])
  const { data: nodes, error } = usePolling(load, 2000, lastNodeEvent)
  const counts = { alive: 0, suspect: 0, dead: 0 }
  for (const node of nodes ?? []) counts[node.state]++
  return (
    <section>
      <h2>Network</h2>
      <p className="summary" data-testid="node-summary">
        {nodes === undefined
          ? 'loading…'
          : `${nodes.length} nodes: ${counts.alive} alive, ${counts.suspect} suspect, ${counts.dead} dead`}
      </p>
      {error !== undefined ? <p className="error">{error.message}</p> : null}
      <div className="cards">
        {(nodes ?? []).map((node) => (
          <article
            key={node.peerId}
            className={`card node state-${node.state}`}
            data-testid="node-card"
            data-peer={node.peerId}
            data-state={node.state}
          >
            <header>
              <strong>{node.label ?? shortId(node.peerId)}</strong> <StateBadge state={node.state} />
            </header>
            <dl>
              <dt>peer</dt>
              <dd title={node.peerId}>{shortId(node.peerId, 8)}</dd>
              <dt>heartbeat</dt>
              <dd>{ago(node.lastHeartbeat)}</dd>
              {node.phi !== undefined ? (
                <>
                  <dt>phi</dt>
                  <dd>{node.phi.toFixed(2)}</dd>
                </>
              ) : null}
              <dt>pieces</dt>
              <dd>{node.pieces ?? '–'}</dd>
              <dt>stored</dt>
              <dd>{formatBytes(node.usedBytes)}</dd>
              <dt>free</dt>
              <dd>{formatBytes(node.freeBytes)}</dd>
              <dt>stake</dt>
              <dd>
                {node.chain === undefined ? 'no chain yet' : `${formatTokens(node.chain.stake)} (${node.chain.status})`}
              </dd>
              <dt>proofs</dt>
              <dd>
                {node.chain === undefined
                  ? '–'
                  : `${node.chain.proofsMade ?? 0} made, ${node.chain.proofsMissed ?? 0} missed`}
              </dd>
              <dt>last proof</dt>
              <dd>{node.chain?.lastProofEpoch === undefined ? '–' : `epoch ${node.chain.lastProofEpoch}`}</dd>
              <dt>earnings</dt>
              <dd>{node.chain === undefined ? '–' : formatTokens(node.chain.earnings)}</dd>
            </dl>
          </article>
        ))}
      </div>
    </section>
  )
}
