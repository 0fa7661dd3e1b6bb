/**
 * The slot sizes a quote prices are the ones the encoder makes: measured from the bytes (compression included) they
 * equal the manifest's slot sizes exactly; from the size alone they are the upper bound, equal for incompressible
 * data. A price cap below the offers is refused naming the cheapest cap that works.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { assertOffersWithinCap, measureSlotSize, type NodeOffer, slotSizeUpperBound } from '../../src/client/index.ts'
import { encodeFile } from '../../src/storage/index.ts'

async function encodedSlotSizes(bytes: Uint8Array, k: number, n: number, segmentSize: number): Promise<number[]> {
  const { pieces, done } = encodeFile([bytes], { k, n, segmentSize })
  for await (const _piece of pieces) {
  }
  return (await done).manifest.slots.map((slot) => slot.size)
}

describe('quote slot sizes', () => {
  const segmentSize = 64 * 1024
  const cases: Array<{ label: string; bytes: Uint8Array; k: number; n: number }> = [
    { label: 'empty file', bytes: new Uint8Array(0), k: 1, n: 3 },
    { label: 'random, several segments and a tail', bytes: randomBytes(3 * segmentSize + 777), k: 2, n: 4 },
    { label: 'random, exact segments', bytes: randomBytes(2 * segmentSize), k: 3, n: 5 },
    { label: 'compressible text', bytes: Buffer.from('a line of text, again\n'.repeat(20_000)), k: 2, n: 3 },
    {
      label: 'half compressible',
      bytes: Buffer.concat([Buffer.alloc(segmentSize, 1), randomBytes(segmentSize + 5)]),
      k: 1,
      n: 2,
    },
  ]
  for (const c of cases) {
    it(`measured from the bytes equals the encoder's slot size: ${c.label}`, async () => {
      const actual = await encodedSlotSizes(c.bytes, c.k, c.n, segmentSize)
      const measured = await measureSlotSize([c.bytes], c.k, segmentSize)
      assert.equal(measured.size, c.bytes.byteLength)
      assert.deepEqual(actual, Array(c.n).fill(measured.slotSize))
      const bound = slotSizeUpperBound(c.bytes.byteLength, c.k, segmentSize)
      assert.ok(bound >= measured.slotSize)
    })
  }

  it('from the size alone: exact for incompressible data', async () => {
    const bytes = randomBytes(5 * segmentSize + 1)
    const [actual] = await encodedSlotSizes(bytes, 4, 6, segmentSize)
    assert.equal(slotSizeUpperBound(bytes.byteLength, 4, segmentSize), actual)
  })

  it('refuses a size that is not a byte count', () => {
    assert.throws(() => slotSizeUpperBound(-1, 1), /size must be a whole number of bytes/)
    assert.throws(() => slotSizeUpperBound(1.5, 1), /size must be a whole number of bytes/)
  })
})

describe('the price cap', () => {
  const offer = (i: number, price: bigint, operator = i): NodeOffer => ({
    account: `0x${String(i).padStart(40, '0')}`,
    peerId: `peer-${i}`,
    operator: `0x${String(operator).padStart(40, 'a')}`,
    pricePerByteEpoch: price.toString(),
    capacity: '1000000000',
    withinMaxPrice: true,
  })
  const offers = [offer(1, 5n), offer(2, 7n), offer(3, 9n), offer(4, 20n)]

  it('refuses a cap below the n-th cheapest offer of distinct operators, naming it and the flag', () => {
    assert.throws(
      () => assertOffersWithinCap(offers, 3, 8n),
      /^InvalidArgumentError: --max-price 8 is below the offers: the cheapest 3 nodes of distinct operators ask up to 9 per byte per epoch \(2 within the cap\): pass --max-price 9 or more/,
    )
    assertOffersWithinCap(offers, 3, 9n)
  })

  it('counts one node per operator', () => {
    const shared = [offer(1, 5n, 1), offer(2, 6n, 1), offer(3, 9n, 3)]
    assert.throws(() => assertOffersWithinCap(shared, 3, 100n), /only 2 active nodes of distinct operators/)
  })
})
