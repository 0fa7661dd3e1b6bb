/**
 * One compliance suite for every PieceStore implementation: `pieceStoreCompliance(name, setup)`.
 * `setup({ quota })` returns a started store and a `teardown` that stops it and removes its files.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { CorruptDataError, InvalidArgumentError, NotFoundError, QuotaExceededError } from '../../src/errors.ts'
import { type PieceStore, pieceCid } from '../../src/storage/index.ts'

export interface StoreSetup {
  store: PieceStore
  teardown(): Promise<void>
}

const piece = (size: number) => {
  const bytes = new Uint8Array(randomBytes(size))
  return { bytes, cid: pieceCid(bytes) }
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of source) out.push(x)
  return out
}

export function pieceStoreCompliance(name: string, setup: (init: { quota?: number }) => Promise<StoreSetup>): void {
  describe(`PieceStore compliance: ${name}`, () => {
    const withStore = (init: { quota?: number }, fn: (store: PieceStore) => Promise<void>) => async () => {
      const { store, teardown } = await setup(init)
      try {
        await fn(store)
      } finally {
        await teardown()
      }
    }

    it(
      'stores, returns equal bytes, lists, counts and deletes',
      withStore({}, async (store) => {
        const a = piece(1000)
        const b = piece(70_000)
        const empty = piece(0)
        assert.equal(await store.has(a.cid), false)
        await store.put(a.cid, a.bytes)
        await store.put(b.cid, b.bytes)
        await store.put(empty.cid, empty.bytes)
        assert.deepEqual(await store.get(a.cid), a.bytes)
        assert.deepEqual(await store.get(b.cid), b.bytes)
        assert.deepEqual(await store.get(empty.cid), empty.bytes)
        assert.equal(await store.has(b.cid), true)
        assert.deepEqual(store.usage(), { pieces: 3, bytes: 71_000, quota: store.usage().quota })
        const listed = (await collect(store.list())).map(String).sort()
        assert.deepEqual(listed, [a.cid, b.cid, empty.cid].map(String).sort())
        await store.delete(a.cid)
        assert.equal(await store.has(a.cid), false)
        await assert.rejects(store.get(a.cid), NotFoundError)
        await store.delete(a.cid) // deleting an absent piece is not an error
        assert.equal(store.usage().pieces, 2)
        assert.equal(store.usage().bytes, 70_000)
      }),
    )

    it(
      'refuses bytes that do not match the CID, and CIDs that are not piece CIDs',
      withStore({}, async (store) => {
        const a = piece(100)
        const other = piece(100)
        await assert.rejects(store.put(a.cid, other.bytes), CorruptDataError)
        assert.equal(await store.has(a.cid), false)
        const notPiece = CID.createV1(0x71, a.cid.multihash)
        await assert.rejects(store.put(notPiece, a.bytes), InvalidArgumentError)
        assert.equal(store.usage().pieces, 0)
      }),
    )

    it(
      'counts a piece once when the same piece is written many times at once',
      withStore({}, async (store) => {
        const a = piece(50_000)
        await Promise.all(Array.from({ length: 8 }, () => store.put(a.cid, a.bytes)))
        await store.put(a.cid, a.bytes)
        assert.deepEqual(await store.get(a.cid), a.bytes)
        assert.equal(store.usage().pieces, 1)
        assert.equal(store.usage().bytes, 50_000)
        assert.equal((await collect(store.list())).length, 1)
      }),
    )

    it(
      'enforces the quota and frees space on delete',
      withStore({ quota: 10_000 }, async (store) => {
        const a = piece(6000)
        const b = piece(6000)
        await store.put(a.cid, a.bytes)
        await assert.rejects(store.put(b.cid, b.bytes), (e: Error) => {
          assert.ok(e instanceof QuotaExceededError)
          assert.match(e.message, /quota of 10000/)
          return true
        })
        assert.equal(await store.has(b.cid), false)
        await store.delete(a.cid)
        await store.put(b.cid, b.bytes)
        assert.deepEqual(store.usage(), { pieces: 1, bytes: 6000, quota: 10_000 })
      }),
    )

    it(
      'does not let concurrent writers of different pieces pass the quota together',
      withStore({ quota: 10_000 }, async (store) => {
        const pieces = Array.from({ length: 6 }, () => piece(3000))
        const results = await Promise.allSettled(pieces.map((p) => store.put(p.cid, p.bytes)))
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3)
        assert.ok(store.usage().bytes <= 10_000)
      }),
    )

    it(
      'stops at an aborted signal',
      withStore({}, async (store) => {
        const a = piece(10)
        await assert.rejects(store.put(a.cid, a.bytes, { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' })
        assert.equal(await store.has(a.cid), false)
      }),
    )
  })
}
