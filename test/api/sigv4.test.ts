import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeAwsChunked } from '../../src/api/aws-chunked.ts'
import { parseRange } from '../../src/api/byte-range.ts'
import { verifySigV4 } from '../../src/api/sigv4.ts'

// Known-answer vectors from the AWS S3 documentation ("Signature Calculations for the Authorization Header",
// "Query String Authentication", "Signature Calculation: Transfer Payload in Multiple Chunks").
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const NOW = Date.UTC(2013, 4, 24, 0, 0, 0)
const verifyInit = {
  secretFor: (id: string) => (id === ACCESS_KEY ? SECRET : undefined),
  region: 'us-east-1',
  now: NOW,
  maxSkewMs: 15 * 60_000,
  maxPresignSeconds: 7 * 24 * 3600,
}

describe('SigV4 verification (AWS documentation vectors)', () => {
  const getObject = {
    method: 'GET',
    url: '/test.txt',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    },
  }

  it('accepts the documented GET Object signature and refuses any change to a signed part', () => {
    const ok = verifySigV4(getObject, verifyInit)
    assert.equal(ok.ok, true)
    for (const changed of [
      { ...getObject, headers: { ...getObject.headers, range: 'bytes=0-10' } },
      { ...getObject, url: '/test2.txt' },
      { ...getObject, method: 'DELETE' },
    ]) {
      const result = verifySigV4(changed, verifyInit)
      assert.equal(result.ok, false)
      assert.equal(!result.ok && result.code, 'SignatureDoesNotMatch')
    }
    const late = verifySigV4(getObject, { ...verifyInit, now: NOW + 16 * 60_000 })
    assert.equal(!late.ok && late.code, 'RequestTimeTooSkewed')
    const unknown = verifySigV4(getObject, { ...verifyInit, secretFor: () => undefined })
    assert.equal(!unknown.ok && unknown.code, 'InvalidAccessKeyId')
  })

  it('refuses a signed request carrying an x-amz-* header it did not sign (e.g. x-amz-copy-source)', () => {
    const added = verifySigV4(
      { ...getObject, headers: { ...getObject.headers, 'x-amz-copy-source': 'other-bucket/secret' } },
      verifyInit,
    )
    assert.equal(added.ok, false)
    assert.equal(!added.ok && added.code, 'AccessDenied')
    assert.equal(!added.ok && added.message, 'There were headers present in the request which were not signed')
    assert.deepEqual(!added.ok && added.headersNotSigned, ['x-amz-copy-source'])
  })

  it('accepts the documented presigned URL until it expires', () => {
    const request = {
      method: 'GET',
      url: '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      headers: { host: 'examplebucket.s3.amazonaws.com' },
    }
    assert.equal(verifySigV4(request, verifyInit).ok, true)
    const expired = verifySigV4(request, { ...verifyInit, now: NOW + 86_401_000 })
    assert.equal(!expired.ok && expired.code, 'AccessDenied')
    // signed 14 minutes ahead of our clock: a fast client clock, accepted; 16 minutes: refused
    assert.equal(verifySigV4(request, { ...verifyInit, now: NOW - 14 * 60_000 }).ok, true)
    const early = verifySigV4(request, { ...verifyInit, now: NOW - 16 * 60_000 })
    assert.equal(!early.ok && early.code, 'AccessDenied')
    assert.match(!early.ok ? early.message : '', /X-Amz-Date is more than 15 minutes in the future/)
  })

  it('decodes the documented signed aws-chunked body and checks every chunk signature', async () => {
    const request = {
      method: 'PUT',
      url: '/examplebucket/chunkObject.txt',
      headers: {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-length': '66824',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      },
    }
    const verified = verifySigV4(request, verifyInit)
    assert.ok(verified.ok)
    const body = (signatures: string[]): Buffer =>
      Buffer.concat([
        Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
        Buffer.alloc(65536, 'a'),
        Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
        Buffer.alloc(1024, 'a'),
        Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n\r\n`),
      ])
    const good = [
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ]
    const encoded = body(good)
    assert.equal(encoded.length, 66824)
    const signing = { ...verified, seedSignature: verified.signature }
    async function decode(bytes: Buffer, pieceSize: number): Promise<Buffer> {
      async function* pieces() {
        for (let at = 0; at < bytes.length; at += pieceSize) yield bytes.subarray(at, at + pieceSize)
      }
      const out: Uint8Array[] = []
      for await (const data of decodeAwsChunked(pieces(), new Map(), signing)) out.push(data)
      return Buffer.concat(out)
    }
    for (const pieceSize of [1, 7, 8192, 70_000]) {
      assert.deepEqual(await decode(encoded, pieceSize), Buffer.alloc(66560, 'a'))
    }
    const forged = body([good[0]!, good[0]!, good[2]!])
    await assert.rejects(decode(forged, 8192), /chunk signature/)
    // no byte of a chunk is passed on before its signature is checked
    for (const [signatures, passed] of [
      [[good[1]!, good[1]!, good[2]!], 0],
      [[good[0]!, good[0]!, good[2]!], 65536],
    ] as const) {
      for (const pieceSize of [7, 8192, 70_000]) {
        const out: Uint8Array[] = []
        async function* pieces(bytes: Buffer) {
          for (let at = 0; at < bytes.length; at += pieceSize) yield bytes.subarray(at, at + pieceSize)
        }
        await assert.rejects(
          (async () => {
            for await (const data of decodeAwsChunked(pieces(body([...signatures])), new Map(), signing)) out.push(data)
          })(),
          /chunk signature/,
        )
        assert.equal(Buffer.concat(out).length, passed, `bytes passed on before their chunk signature was checked`)
      }
    }
    // a signed chunk is held until checked, so its size is capped
    const huge = (async () => {
      const header = Buffer.from(`40000000;chunk-signature=${good[0]}\r\n`)
      async function* source() {
        yield header
        yield Buffer.alloc(1024)
      }
      for await (const _ of decodeAwsChunked(source(), new Map(), signing)) {
        // nothing
      }
    })()
    await assert.rejects(huge, /larger than 16777216 bytes/)
    await assert.rejects(decode(encoded.subarray(0, 40_000), 8192), /ended before its last chunk/)
  })
})

describe('byte ranges', () => {
  it('always answer a range inside the file, or the whole file, or 416 (property)', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.option(fc.nat(12_000)), fc.option(fc.nat(12_000)), (size, start, end) => {
        const header = `bytes=${start ?? ''}-${end ?? ''}`
        const result = parseRange(header, size)
        if (result.kind === 'partial') {
          assert.ok(result.offset >= 0 && result.length >= 1 && result.offset + result.length <= size)
          if (start !== null) assert.equal(result.offset, start)
          else assert.equal(result.length, Math.min(end!, size))
        } else if (result.kind === 'unsatisfiable') {
          assert.ok((start !== null && start >= size) || (start === null && (end === 0 || size === 0)))
        }
      }),
    )
    assert.deepEqual(parseRange('bytes=0-0,5-6', 10), { kind: 'full' })
    assert.deepEqual(parseRange(undefined, 10), { kind: 'full' })
  })
})
