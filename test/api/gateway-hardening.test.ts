/**
 * The gateway between strangers (issue 12, finding 6): its index of file keys is private to its user, downloads
 * cannot run as pages of the dashboard's origin, `/metrics` needs the token, and the token never travels in a URL.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createApiClient, createGateway, type Gateway } from '../../src/api/index.ts'
import { createMemoryFileService } from './memory-file-service.ts'

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

describe('gateway index file permissions', () => {
  let root: string
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-gateway-modes-'))
  })
  after(() => rm(root, { recursive: true, force: true }))

  it('creates its data folder 0700 and index.sqlite with its -wal and -shm 0600', async () => {
    const dataDir = join(root, 'fresh', 'gateway')
    const gateway = createGateway({ files: createMemoryFileService() }, { dataDir, port: 0, s3Port: false })
    await gateway.start()
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      await api.upload(new Uint8Array([1, 2, 3]), { name: 'key-in-index.bin' })
      assert.equal(await mode(dataDir), 0o700, 'the data folder must be private')
      for (const file of ['index.sqlite', 'index.sqlite-wal', 'index.sqlite-shm']) {
        assert.equal(await mode(join(dataDir, file)), 0o600, `${file} holds every file key: it must be 0600`)
      }
    } finally {
      await gateway.stop()
    }
  })

  it('tightens the modes of an index created by an older gateway', async () => {
    const dataDir = join(root, 'old')
    await mkdir(dataDir, { mode: 0o755 })
    await chmod(dataDir, 0o755)
    const first = createGateway({ files: createMemoryFileService() }, { dataDir, port: 0, s3Port: false })
    await first.start()
    await first.stop()
    for (const file of ['index.sqlite', 'index.sqlite-wal', 'index.sqlite-shm']) {
      await writeFile(join(dataDir, file), '', { flag: 'a' })
      await chmod(join(dataDir, file), 0o644)
    }
    await chmod(dataDir, 0o755)
    const second = createGateway({ files: createMemoryFileService() }, { dataDir, port: 0, s3Port: false })
    await second.start()
    try {
      assert.equal(await mode(dataDir), 0o700)
      for (const file of ['index.sqlite', 'index.sqlite-wal', 'index.sqlite-shm']) {
        assert.equal(await mode(join(dataDir, file)), 0o600, file)
      }
    } finally {
      await second.stop()
    }
  })
})

describe('gateway downloads, /metrics and the token', () => {
  let gateway: Gateway
  let dataDir: string
  let auth: Record<string, string>
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-gateway-hardening-'))
    gateway = createGateway({ files: createMemoryFileService() }, { dataDir, port: 0, s3Port: false })
    await gateway.start()
    auth = { authorization: `Bearer ${gateway.token}` }
  })
  after(async () => {
    await gateway.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  async function upload(body: string, type: string, name: string): Promise<string> {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    return (await api.upload(new TextEncoder().encode(body), { type, name })).capability
  }

  function contentUrl(capability: string): string {
    return `${gateway.url}/api/v1/files/${encodeURIComponent(capability)}/content`
  }

  it('serves an uploaded HTML page as a sandboxed attachment, never as a page of the dashboard', async () => {
    const capability = await upload('<script>fetch("/api/v1/files")</script>', 'text/html', 'evil.html')
    const response = await fetch(contentUrl(capability), { headers: auth })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
    assert.match(response.headers.get('content-security-policy') ?? '', /(^|;\s*)sandbox(;|$)/)
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    assert.match(response.headers.get('content-disposition') ?? '', /^attachment; filename\*=UTF-8''evil\.html$/)
    for (const type of ['image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/pdf', 'TEXT/HTML; x=1']) {
      const other = await upload('<svg/>', type, 'x')
      const answer = await fetch(contentUrl(other), { headers: auth })
      await answer.arrayBuffer()
      assert.match(answer.headers.get('content-disposition') ?? '', /^attachment/, `${type} must not be inline`)
    }
    // a file without a name is an attachment too
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const nameless = await api.upload(new TextEncoder().encode('<p>'), { type: 'text/html' })
    const answer = await fetch(contentUrl(nameless.capability), { headers: auth })
    await answer.arrayBuffer()
    assert.match(answer.headers.get('content-disposition') ?? '', /^attachment/)
  })

  it('shows images, audio, video and plain text inline, still sandboxed and nosniff', async () => {
    for (const type of ['image/png', 'image/jpeg', 'video/mp4', 'audio/mpeg', 'text/plain; charset=utf-8']) {
      const capability = await upload('bytes', type, 'shown')
      const response = await fetch(contentUrl(capability), { headers: auth })
      await response.arrayBuffer()
      assert.match(response.headers.get('content-disposition') ?? '', /^inline/, type)
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
      assert.match(response.headers.get('content-security-policy') ?? '', /sandbox/)
    }
  })

  it('needs the token for /metrics, given as a bearer header (as Prometheus sends it)', async () => {
    const anonymous = await fetch(`${gateway.url}/metrics`)
    assert.equal(anonymous.status, 401)
    assert.match(((await anonymous.json()) as { error: { message: string } }).error.message, /Authorization: Bearer/)
    const scraped = await fetch(`${gateway.url}/metrics`, { headers: auth })
    assert.equal(scraped.status, 200)
    assert.match(await scraped.text(), /cairn_http_requests_total/)
  })

  it('refuses the token in a URL query string, saying how to send it', async () => {
    const capability = await upload('hello', 'text/plain', 'hello.txt')
    for (const url of [
      `${gateway.url}/api/v1/files?access_token=${gateway.token}`,
      `${contentUrl(capability)}?access_token=${gateway.token}`,
      `${gateway.url}/metrics?access_token=${gateway.token}`,
    ]) {
      const response = await fetch(url)
      assert.equal(response.status, 401, url)
      const body = (await response.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'ERR_UNAUTHORIZED')
      assert.match(body.error.message, /never in the URL/)
    }
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    assert.doesNotMatch(api.contentUrl(capability), /token/, 'the typed client must not put the token in links')
  })

  it('a session cookie (HttpOnly, SameSite=Strict, not the token) opens file downloads and nothing else', async () => {
    const capability = await upload('via cookie', 'text/plain', 'cookie.txt')
    const anonymous = await fetch(`${gateway.url}/api/v1/session`, { method: 'POST' })
    assert.equal(anonymous.status, 401)
    const opened = await fetch(`${gateway.url}/api/v1/session`, { method: 'POST', headers: auth })
    assert.equal(opened.status, 200)
    const setCookie = opened.headers.get('set-cookie') ?? ''
    assert.match(setCookie, /HttpOnly/i)
    assert.match(setCookie, /SameSite=Strict/i)
    assert.match(setCookie, /Path=\/api\/v1\/files/)
    const cookie = setCookie.split(';')[0] ?? ''
    assert.ok(!cookie.includes(gateway.token), 'the cookie must not be the token itself')
    const download = await fetch(contentUrl(capability), { headers: { cookie } })
    assert.equal(download.status, 200)
    assert.equal(await download.text(), 'via cookie')
    const list = await fetch(`${gateway.url}/api/v1/files`, { headers: { cookie } })
    assert.equal(list.status, 401, 'the cookie opens downloads only')
    const forged = await fetch(contentUrl(capability), { headers: { cookie: `${cookie.split('=')[0]}=forged` } })
    assert.equal(forged.status, 401)
    const closed = await fetch(`${gateway.url}/api/v1/session`, { method: 'DELETE' })
    assert.match(closed.headers.get('set-cookie') ?? '', /Max-Age=0/)
  })
})
