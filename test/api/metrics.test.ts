import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createMetrics, METRIC_NAMES } from '../../src/api/index.ts'
import { createControlApi } from '../../src/node/index.ts'
import { createMemoryPieceStore } from '../../src/storage/index.ts'

describe('metrics', () => {
  it("serves every Cairn metric as Prometheus text, with the node label, from a storage node's control API", async () => {
    const metrics = createMetrics({ labels: { node: 'node-7' }, defaultMetrics: false })
    metrics.piecesStored.set(12)
    metrics.bytesStored.set(3_000_000)
    metrics.bytesIn.inc({ kind: 'piece' }, 4096)
    metrics.proofsMade.inc(2)
    metrics.proofsMissed.inc()
    metrics.repairs.inc({ outcome: 'finished' })
    metrics.earnings.set(1.5)
    metrics.setPeers(['alive', 'alive', 'suspect', 'dead'])
    const end = metrics.putSeconds.startTimer()
    end()
    // A process without a gateway (a storage node) serves them from its control API.
    const server = createControlApi({
      pieceStore: createMemoryPieceStore(),
      peers: () => [],
      health: () => ({}),
      metrics,
    })
    const url = await server.start()
    try {
      const response = await fetch(`${url}/metrics`)
      assert.equal(response.status, 200)
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
      const text = await response.text()
      for (const name of Object.values(METRIC_NAMES)) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'))
      assert.match(text, /^cairn_pieces_stored\{node="node-7"\} 12$/m)
      assert.match(text, /^cairn_bytes_in_total\{kind="piece",node="node-7"\} 4096$/m)
      assert.match(text, /^cairn_peers\{state="alive",node="node-7"\} 2$/m)
      assert.match(text, /^cairn_peers\{state="dead",node="node-7"\} 1$/m)
      assert.match(text, /^cairn_proofs_made_total\{node="node-7"\} 2$/m)
      assert.match(text, /^cairn_repairs_total\{outcome="finished",node="node-7"\} 1$/m)
      assert.match(text, /^cairn_put_duration_seconds_count\{node="node-7"\} 1$/m)
    } finally {
      await server.stop()
    }
  })
})
