import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { segmenter } from '../../src/storage/index.ts'
import { concat } from './pipeline-helpers.ts'

it('cuts any chunking into full segments, a shorter last one, and marks only the last as final', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 12 }),
      fc.integer({ min: 1, max: 2500 }),
      async (chunks, size) => {
        const segments = []
        for await (const s of segmenter(chunks, size)) segments.push(s)
        const all = concat(chunks)
        assert.deepEqual(concat(segments.map((s) => s.bytes)), all)
        assert.equal(segments.length, Math.max(1, Math.ceil(all.byteLength / size)))
        segments.forEach((s, i) => {
          assert.equal(s.index, i)
          assert.equal(s.final, i === segments.length - 1)
          if (!s.final) assert.equal(s.bytes.byteLength, size)
        })
      },
    ),
    { numRuns: 300 },
  )
})

it('rejects a source that yields strings', async () => {
  await assert.rejects(async () => {
    for await (const _ of segmenter(['text' as unknown as Uint8Array], 1024));
  }, /must yield Uint8Array chunks/)
})
