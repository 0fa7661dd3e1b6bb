import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { AbortedError, DecryptionError, NotEnoughPiecesError } from '../../src/errors.ts'
import {
  type DecodeProgressEvent,
  decodeFile,
  decodeManifest,
  decryptMetadata,
  type EncodeProgressEvent,
  encodeFile,
  merkleLeafCount,
  merklePackedProof,
  merkleVerify,
  type PieceRequest,
  parseCapability,
  pieceCid,
  slotMerkleLevels,
  slotPieces,
} from '../../src/storage/index.ts'
import { chunked, decodeAll, encodeToMap, mapFetcher, subsetsUpTo, testData } from './pipeline-helpers.ts'

const S = 4096 // a small segment size keeps many-segment cases fast
const CODES: Array<[number, number]> = [
  [1, 3],
  [2, 6],
  [4, 6],
  [10, 14],
]

describe('encode/decode round trips', () => {
  for (const [k, n] of CODES) {
    it(`(k, n) = (${k}, ${n}): sizes 0, 1, S-1, S, S+1, several segments; text and random`, async () => {
      for (const size of [0, 1, S - 1, S, S + 1, 5 * S + 123]) {
        for (const kind of ['text', 'random'] as const) {
          const data = testData(size, kind)
          const file = await encodeToMap(data, { k, n, segmentSize: S })
          assert.equal(file.size, size)
          assert.equal(file.manifest.segments.length, Math.max(1, Math.ceil(size / S)))
          assert.equal(file.pieces.size, file.manifest.segments.length * n)
          const manifest = decodeManifest(file.manifestBytes, file.manifestCid)
          assert.deepEqual(await decodeAll(manifest, file.key, file.pieces), data, `size ${size} ${kind}`)
          if (kind === 'text' && size >= S) assert.equal(manifest.segments[0]!.flags, 1, 'text is stored compressed')
          if (kind === 'random' && size > 0) assert.equal(manifest.segments[0]!.flags, 0, 'random data is stored raw')
        }
      }
    })
  }

  it('random sizes, codes, data kinds, chunkings and loss patterns (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 * S }),
        fc.constantFrom(...CODES),
        fc.constantFrom('text' as const, 'random' as const),
        fc.integer({ min: 1, max: 9000 }),
        fc.integer(),
        async (size, [k, n], kind, chunk, seed) => {
          const data = testData(size, kind, seed)
          const file = await encodeToMap(chunked(data, chunk), {
            k,
            n,
            segmentSize: S,
            compressionLevel: 1 + (seed & 7),
          })
          // A different random set of n - k lost slots per segment.
          const lost = (segment: number) => {
            const order = Array.from({ length: n }, (_, i) => i).sort(
              (a, b) => ((a * 7919 + segment * 31 + seed) % 101) - ((b * 7919 + segment * 31 + seed) % 101),
            )
            return new Set(order.slice(0, n - k))
          }
          assert.deepEqual(await decodeAll(file.manifest, file.key, file.pieces, { missing: lost }), data)
        },
      ),
      { numRuns: 40 },
    )
  })

  for (const [k, n] of CODES.slice(0, 3)) {
    it(`(k, n) = (${k}, ${n}): every pattern of up to n - k missing slots decodes; one more fails clearly`, async () => {
      const data = testData(2 * S + 99, 'text')
      const file = await encodeToMap(data, { k, n, segmentSize: S })
      for (const missing of subsetsUpTo(n, n - k)) {
        const set = new Set(missing)
        assert.deepEqual(await decodeAll(file.manifest, file.key, file.pieces, { missing: () => set }), data)
      }
      const tooMany = new Set(Array.from({ length: n - k + 1 }, (_, i) => n - 1 - i))
      await assert.rejects(decodeAll(file.manifest, file.key, file.pieces, { missing: () => tooMany }), (e: Error) => {
        assert.ok(e instanceof NotEnoughPiecesError)
        assert.match(e.message, /^segment 0: only \d+ of the \d+ pieces needed/)
        for (const slot of tooMany) assert.match(e.message, new RegExp(`slot ${slot}: node offline`))
        return true
      })
    })
  }

  it('(10, 14): random patterns of up to 4 missing slots per segment', async () => {
    const data = testData(9 * S + 5, 'random')
    const file = await encodeToMap(data, { k: 10, n: 14, segmentSize: S })
    for (let trial = 0; trial < 20; trial++) {
      const lost = (segment: number) => {
        const set = new Set<number>()
        const count = (trial + segment) % 5
        for (let i = 0; set.size < count; i++) set.add((trial * 5 + segment * 3 + i * 11) % 14)
        return set
      }
      assert.deepEqual(await decodeAll(file.manifest, file.key, file.pieces, { missing: lost }), data)
    }
  })

  it('uses 4 MiB segments by default and keeps the metadata secret but readable with the key', async () => {
    const data = testData(4 * 1024 * 1024 + 10, 'text')
    const mtime = Date.UTC(2026, 10, 26)
    const { pieces, done } = encodeFile([data], { metadata: { name: 'report-2026.txt', type: 'text/plain', mtime } })
    const map = new Map<string, Uint8Array>()
    for await (const p of pieces) map.set(`${p.segment}/${p.slot}`, p.bytes)
    const file = await done
    assert.equal(file.manifest.segmentSize, 4 * 1024 * 1024)
    assert.equal(file.manifest.segments.length, 2)
    assert.deepEqual([file.manifest.k, file.manifest.n], [1, 3])
    const { manifestCid, key } = parseCapability(file.capability)
    assert.equal(manifestCid.toString(), file.manifestCid.toString())
    assert.deepEqual(key, file.key)
    assert.deepEqual(decryptMetadata(file.manifest, file.key), { name: 'report-2026.txt', type: 'text/plain', mtime })
    assert.equal(Buffer.from(file.manifestBytes).indexOf('report-2026'), -1, 'the manifest must not reveal the name')
    assert.equal(Buffer.from(file.manifestBytes).indexOf('text/plain'), -1)
    assert.deepEqual(await decodeAll(file.manifest, file.key, map), data)
  })

  it('encodes and decodes with worker threads', async () => {
    const data = testData(7 * S + 3, 'text')
    const events: EncodeProgressEvent[] = []
    const file = await encodeToMap(data, { k: 4, n: 6, segmentSize: S, workers: 2, onProgress: (e) => events.push(e) })
    assert.deepEqual(await decodeAll(file.manifest, file.key, file.pieces, { missing: () => new Set([0, 3]) }), data)
    const decoded = await decodeAll(
      file.manifest,
      file.key,
      file.pieces,
      { missing: () => new Set([1]) },
      { workers: 2 },
    )
    assert.deepEqual(decoded, data, 'decoded in worker threads')
    // A segment whose flag was altered fails authentication, with the same error class from a worker as inline.
    const altered = structuredClone(file.manifest)
    altered.segments[2]!.flags ^= 1
    for (const workers of [0, 2]) {
      await assert.rejects(decodeAll(altered, file.key, file.pieces, {}, { workers }), (e: Error) => {
        assert.ok(e instanceof DecryptionError, `workers ${workers}: ${e}`)
        assert.match(e.message, /^segment 2 failed authentication/)
        return true
      })
    }
    assert.deepEqual(
      events.filter((e) => e.type === 'segment-encoded').map((e) => e.segment),
      [0, 1, 2, 3, 4, 5, 6, 7],
    )
    assert.equal(events.at(-1)?.type, 'done')
  })

  it('commits each slot to a Merkle root a node can rebuild from its pieces and prove leaves against', async () => {
    const data = testData(3 * S + 500, 'random')
    for (const [k, n] of [
      [1, 3],
      [4, 6],
    ] as const) {
      const file = await encodeToMap(data, { k, n, segmentSize: S })
      for (let slot = 0; slot < n; slot++) {
        const cids = slotPieces(file.manifest, slot)
        const bytes = cids.map((_, segment) => file.pieces.get(`${segment}/${slot}`)!)
        for (const [i, cid] of cids.entries()) assert.equal(cid.toString(), pieceCid(bytes[i]!).toString())
        const levels = await slotMerkleLevels(bytes)
        assert.deepEqual(Buffer.from(levels.at(-1)!), Buffer.from(file.manifest.slots[slot]!.root))
        const all = Buffer.concat(bytes)
        assert.equal(file.manifest.slots[slot]!.size, all.byteLength)
        const count = merkleLeafCount(all.byteLength)
        const index = count - 2
        const leaf = all.subarray(index * 1024, (index + 1) * 1024)
        assert.ok(merkleVerify(file.manifest.slots[slot]!.root, index, count, leaf, merklePackedProof(levels, index)))
      }
    }
  })
})

describe('range reads', () => {
  it('return exactly the asked bytes and fetch only the segments that hold them', async () => {
    const data = testData(10 * S + 77, 'text')
    const file = await encodeToMap(data, { k: 2, n: 4, segmentSize: S })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: data.byteLength }),
        fc.integer({ min: 0, max: 3 * S }),
        async (o, l) => {
          const log: PieceRequest[] = []
          const out = await decodeAll(file.manifest, file.key, file.pieces, { log }, { offset: o, length: l })
          const expected = data.subarray(o, Math.min(data.byteLength, o + l))
          assert.deepEqual(out, expected)
          const segments = new Set(log.map((r) => r.segment))
          const first = Math.floor(o / S)
          const last = Math.floor((o + expected.byteLength - 1) / S)
          const wanted = expected.byteLength === 0 ? [] : Array.from({ length: last - first + 1 }, (_, i) => first + i)
          assert.deepEqual(
            [...segments].sort((a, b) => a - b),
            wanted,
          )
          assert.ok(
            log.every((r) => r.slot < 2),
            'data slots are asked first',
          )
        },
      ),
      { numRuns: 60 },
    )
    await assert.rejects(decodeAll(file.manifest, file.key, file.pieces, {}, { offset: data.byteLength + 1 }), {
      code: 'ERR_INVALID_ARGUMENT',
    })
  })
})

describe('failures, corruption and cancellation', () => {
  it('skips corrupt pieces, reports each one for repair, and names them when too few remain', async () => {
    const data = testData(3 * S, 'random')
    const file = await encodeToMap(data, { k: 2, n: 4, segmentSize: S })
    const reported: Array<{ request: PieceRequest; error: Error }> = []
    const out = await decodeAll(
      file.manifest,
      file.key,
      file.pieces,
      { corrupt: (segment) => new Set(segment === 1 ? [0, 2] : [1]) },
      { onCorruptPiece: (request, error) => reported.push({ request, error }) },
    )
    assert.deepEqual(out, data)
    const seen = reported.map((r) => `${r.request.segment}/${r.request.slot}`).sort()
    assert.deepEqual(seen, ['0/1', '1/0', '1/2', '2/1'])
    assert.ok(reported.every((r) => r.error.message.includes(`piece ${r.request.cid.toString()} is corrupt`)))
    await assert.rejects(
      decodeAll(file.manifest, file.key, file.pieces, { corrupt: () => new Set([0, 1, 2]) }),
      (e: Error) => {
        assert.ok(e instanceof NotEnoughPiecesError)
        assert.match(e.message, /slot 0: ERR_CORRUPT_DATA: piece \S+ is corrupt/)
        assert.deepEqual(e.details?.segment, 0)
        return true
      },
    )
  })

  it('races a slow slot with another one and cancels the slow tail', async () => {
    const data = testData(2 * S, 'random')
    const file = await encodeToMap(data, { k: 2, n: 4, segmentSize: S })
    const aborted: number[] = []
    const fetcher = mapFetcher(file.pieces)
    const slow = (request: PieceRequest, options: { signal: AbortSignal }) =>
      request.slot === 0
        ? new Promise<Uint8Array>((_, reject) =>
            options.signal.addEventListener('abort', () => {
              aborted.push(request.segment)
              reject(options.signal.reason)
            }),
          )
        : fetcher(request)
    const started = Date.now()
    const parts: Uint8Array[] = []
    const events: DecodeProgressEvent[] = []
    for await (const chunk of decodeFile(file.manifest, file.key, slow, {
      hedgeAfter: 30,
      onProgress: (e) => events.push(e),
    })) {
      parts.push(Uint8Array.from(chunk))
    }
    assert.deepEqual(Buffer.concat(parts), Buffer.from(data))
    assert.ok(Date.now() - started < 10_000, 'the hung slot must not hold the read')
    assert.deepEqual(aborted.sort(), [0, 1], 'the slow requests were cancelled once k pieces arrived')
    const decoded = events.filter((e) => e.type === 'segment-decoded')
    assert.deepEqual(
      decoded.map((e) => e.slots),
      [
        [1, 2],
        [1, 2],
      ],
    )
  })

  it('rejects a wrong key before fetching anything', async () => {
    const file = await encodeToMap(testData(S, 'text'), { k: 1, n: 3, segmentSize: S })
    const log: PieceRequest[] = []
    const wrong = Uint8Array.from(file.key)
    wrong[0]! ^= 1
    await assert.rejects(decodeAll(file.manifest, wrong, file.pieces, { log }), (e: Error) => {
      assert.ok(e instanceof DecryptionError)
      assert.match(e.message, /^wrong key/)
      return true
    })
    assert.throws(() => decryptMetadata(file.manifest, wrong), /wrong key/)
    assert.equal(log.length, 0)
  })

  it('cancels a decode through its signal and aborts the fetches in flight', async () => {
    const file = await encodeToMap(testData(6 * S, 'random'), { k: 1, n: 3, segmentSize: S })
    const controller = new AbortController()
    const fetcher = mapFetcher(file.pieces)
    let aborts = 0
    const slowAfterFirst = async (request: PieceRequest, options: { signal: AbortSignal }) => {
      if (request.segment === 0) return fetcher(request)
      return new Promise<Uint8Array>((_, reject) =>
        options.signal.addEventListener('abort', () => {
          aborts++
          reject(options.signal.reason)
        }),
      )
    }
    const iterate = async () => {
      for await (const _ of decodeFile(file.manifest, file.key, slowAfterFirst, {}, { signal: controller.signal })) {
        controller.abort()
      }
    }
    await assert.rejects(iterate(), AbortedError)
    assert.ok(aborts >= 1)
  })

  it('cancels an encode through its signal: pieces throw and done rejects', async () => {
    const controller = new AbortController()
    const { pieces, done } = encodeFile(chunked(testData(20 * S, 'random'), S), { segmentSize: S }, controller)
    let count = 0
    await assert.rejects(
      (async () => {
        for await (const _ of pieces) if (++count === 4) controller.abort()
      })(),
      AbortedError,
    )
    await assert.rejects(done, AbortedError)
    assert.ok(count < 10)
  })

  it('rejects done when the source fails, and when the consumer stops early', async () => {
    async function* failing() {
      yield new Uint8Array(S * 2)
      throw new Error('disk read error')
    }
    const bad = encodeFile(failing(), { segmentSize: S })
    await assert.rejects(
      (async () => {
        for await (const _ of bad.pieces);
      })(),
      /disk read error/,
    )
    await assert.rejects(bad.done, /disk read error/)
    const early = encodeFile([new Uint8Array(5 * S)], { segmentSize: S })
    for await (const _ of early.pieces) break
    await assert.rejects(early.done, /stopped before all pieces were consumed/)
  })

  it('does not read far ahead of a slow consumer (backpressure)', async () => {
    let read = 0
    function* source() {
      for (let i = 0; i < 50; i++) {
        read++
        yield new Uint8Array(S).fill(i)
      }
    }
    const { pieces, done } = encodeFile(source(), { segmentSize: S, ahead: 2 })
    const iterator = pieces[Symbol.asyncIterator]()
    await iterator.next()
    assert.ok(read <= 4, `read ${read} segments for the first piece`)
    for (let i = 0; i < 9; i++) await iterator.next() // 10 pieces = segments 0..3
    assert.ok(read <= 7, `read ${read} segments for 4 segments of pieces`)
    while (!(await iterator.next()).done);
    assert.equal((await done).size, 50 * S)
  })

  it("frees only its own buffers: the caller's source and pieces stay intact unless handed over", async () => {
    const data = testData(3 * S + 1, 'random')
    const source = Uint8Array.from(data)
    for (const [k, n] of [
      [1, 3],
      [2, 4],
    ] as const) {
      for (const workers of [0, 2]) {
        const file = await encodeToMap([source], { k, n, segmentSize: S, workers })
        assert.deepEqual(source, data, 'the source buffer was not touched')
        await decodeAll(file.manifest, file.key, file.pieces, {}, { workers })
        for (const [at, piece] of file.pieces) {
          const cid = file.manifest.segments[Number(at.split('/')[0])]!.pieces[Number(at.split('/')[1])]!
          assert.equal(pieceCid(piece).toString(), cid.toString(), `piece ${at} still whole after decode`)
        }
        // Handed over: decodeFile may free the pieces it fetched, so a fetcher returning copies loses nothing.
        const copies = mapFetcher(new Map([...file.pieces].map(([at, p]) => [at, Uint8Array.from(p)])))
        const parts: Uint8Array[] = []
        for await (const chunk of decodeFile(file.manifest, file.key, copies, { releasePieces: true, workers })) {
          parts.push(Uint8Array.from(chunk))
        }
        assert.deepEqual(Buffer.concat(parts), Buffer.from(data))
      }
    }
  })

  it('checks its arguments at once', () => {
    assert.throws(() => encodeFile([], { k: 3, n: 3 }), /k and n must be whole numbers with 1 <= k < n <= 255/)
    assert.throws(() => encodeFile([], { segmentSize: 10 }), /segmentSize must be an integer from 1024/)
    assert.throws(() => encodeFile([], { compressionLevel: 30 }), /compressionLevel must be an integer from 1 to 19/)
    assert.throws(() => encodeFile([], { key: new Uint8Array(16) }), /key must be 32 bytes/)
  })
})
