import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SegmentBuffers } from '../../src/client/segment-buffers.ts'

describe('SegmentBuffers', () => {
  it("frees a segment's buffers once its n pieces are acknowledged, not before", () => {
    const segments = new SegmentBuffers(3)
    const shared = new Uint8Array(1024 * 1024) // k = 1: one buffer for the three slots
    const other = new Uint8Array(1024 * 1024)
    for (let slot = 0; slot < 3; slot++) segments.add({ segment: 0, bytes: shared })
    segments.add({ segment: 1, bytes: other })
    segments.done(0)
    segments.done(0)
    assert.equal(shared.byteLength, 1024 * 1024, 'freed while a slot still sends it')
    segments.done(0)
    assert.equal(shared.byteLength, 0)
    assert.equal(other.byteLength, 1024 * 1024, 'another segment was freed')
  })

  it('leaves a segment to the GC when one of its pieces needed a retry', () => {
    const segments = new SegmentBuffers(2)
    const bytes = new Uint8Array(1024 * 1024)
    segments.add({ segment: 0, bytes })
    segments.add({ segment: 0, bytes })
    segments.done(0, false)
    segments.done(0)
    assert.equal(bytes.byteLength, 1024 * 1024)
  })
})
