/** The dashboard's hash routes: the page named, and the API token a link carries taken out of the address. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseHash } from '../../web/src/hash-route.ts'

describe('dashboard hash routes', () => {
  it('reads the token the gateway prints, and opens the network page', () => {
    assert.deepEqual(parseHash('#token=abc'), { route: '/network', token: 'abc', hash: '' })
    assert.deepEqual(parseHash(''), { route: '/network', hash: '' })
  })

  it('opens the page a link names and keeps its token, after ? or after &', () => {
    assert.deepEqual(parseHash('#/files&token=abc'), { route: '/files', token: 'abc', hash: '#/files' })
    assert.deepEqual(parseHash('#/files?token=abc'), { route: '/files', token: 'abc', hash: '#/files' })
    assert.deepEqual(parseHash('#token=abc&/bank'), { route: '/bank', token: 'abc', hash: '#/bank' })
    assert.deepEqual(parseHash('#/files?token=a%2Fb&x=1'), { route: '/files', token: 'a/b', hash: '#/files?x=1' })
    assert.deepEqual(parseHash('#/files?x=1&token=abc'), { route: '/files', token: 'abc', hash: '#/files?x=1' })
  })

  it('leaves a hash without a token as it is', () => {
    assert.deepEqual(parseHash('#/files/bafy%3Fkey'), { route: '/files/bafy%3Fkey', hash: '#/files/bafy%3Fkey' })
    assert.deepEqual(parseHash('#/bank'), { route: '/bank', hash: '#/bank' })
  })
})
