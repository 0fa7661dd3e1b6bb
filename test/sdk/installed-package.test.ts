/**
 * The SDK as a user gets it: `npm run build:sdk`'s script builds dist/, `npm pack` packs the repo, and the tarball is
 * unpacked into a fresh project's node_modules/cairn (its dependencies are linked from this repo's node_modules: an
 * offline `npm install` of the tarball would need every dependency in npm's cache and takes minutes here). Then
 * (a) a plain Node script imports 'cairn', puts and gets a file through the Node client over an in-memory network of
 * four peers (the data path is real: compression, encryption, erasure coding, CIDs), and sees a typed error;
 * (b) rolldown, Vite's bundler, bundles `import { createClient } from 'cairn'` for the browser with its default
 * settings, and the output imports no Node built-in; (c) a Node script imports 'cairn' and puts (deal paid by the
 * devnet's user key) and gets a 1 MB file straight from the nodes of a devnet (4 node processes, anvil, no gateway)
 * as a page does, and `cairn get` reads it back byte-equal; (d) tsc type-checks a file using the package's types.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { build } from 'rolldown'
import { devnetCli, type LongRunning, readDevnetJson, startCairn, stopAll } from '../e2e/devnet-fixture.ts'

const run = promisify(execFile)
const ROOT = new URL('../../', import.meta.url).pathname

/** The script a Node user writes: four in-memory peers, a put and a get, and a bad capability. */
const NODE_SCRIPT = `
import { createHash, randomBytes } from 'node:crypto'
import { CairnError, InvalidCapabilityError, createClient } from 'cairn'

const peers = new Map([0, 1, 2, 3].map((i) => [\`peer-\${i}\`, { store: new Map(), address: \`/ip4/10.0.\${i}.1/tcp/4001\` }]))
const network = {
  peerId: 'script',
  async storePiece(peer, cid, bytes) { peers.get(peer).store.set(cid.toString(), bytes.slice()) },
  async fetchPiece(peer, cid) {
    const bytes = peers.get(peer).store.get(cid.toString())
    if (bytes === undefined) throw new Error(\`\${peer} does not hold \${cid}\`)
    return bytes
  },
  async hasPieces(peer, cids) { return cids.map((cid) => peers.get(peer).store.has(cid.toString())) },
  peers() {
    return [...peers].map(([peerId, p]) => ({ peerId, state: 'alive', lastSeenMs: 0, multiaddrs: [p.address] }))
  },
  async slotAcceptance(peer, request) {
    if (request.type === 'reserve-request') return { type: 'reserve-response', granted: true }
    return { type: request.type.replace('request', 'response'), granted: false, reason: 'in-memory peers sign nothing' }
  },
}
const client = createClient({ network })
const data = randomBytes(300_000)
const put = await client.put([data], { k: 2, n: 4 })
const chunks = []
for await (const chunk of client.get(put.capability)) chunks.push(chunk)
const back = Buffer.concat(chunks)
let error
try {
  for await (const _ of client.get('cairn:not-a-capability')) {}
} catch (caught) {
  error = { cairn: caught instanceof CairnError, typed: caught instanceof InvalidCapabilityError, code: caught.code, message: caught.message }
}
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex')
console.log(JSON.stringify({
  resolved: import.meta.resolve('cairn'),
  capability: put.capability,
  slots: put.slots.length,
  equal: sha(back) === sha(data),
  error,
}))
`

/** A Node script straight to a devnet's nodes, as a page does: its own host, the user's key paying the deal. */
const DEVNET_SCRIPT = `
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createBrowserClient, createBrowserHost, createChainClient, putFromPage } from 'cairn'

const [networkFile, keyFile] = process.argv.slice(2)
const network = JSON.parse(await readFile(networkFile, 'utf8'))
const host = await createBrowserHost({ allowPrivateAddresses: network.allowPrivateAddresses })
try {
  const client = createBrowserClient({ host }, { network })
  const nodes = await client.connect()
  const wallet = createChainClient({
    rpcUrl: network.rpc,
    chainId: network.chainId,
    privateKey: (await readFile(keyFile, 'utf8')).trim(),
    contracts: network.contracts,
  })
  const data = randomBytes(1_000_003)
  const { put, deal } = await putFromPage(client, wallet, [data], { k: 2, n: 4 })
  const chunks = []
  for await (const chunk of client.get(put.capability)) chunks.push(chunk)
  const sha = (bytes) => createHash('sha256').update(bytes).digest('hex')
  console.log(JSON.stringify({
    nodes: nodes.length,
    capability: put.capability,
    dealId: deal.dealId,
    sha256: sha(data),
    equal: sha(Buffer.concat(chunks)) === sha(data),
  }))
} finally {
  await host.stop()
}
`

/** A Node script joins the devnet from its network file alone with connectNetwork (TCP, like the CLI) and pays a deal. */
const CONNECT_SCRIPT = `
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { connectNetwork } from 'cairn'

const [networkFile, keyFile] = process.argv.slice(2)
const cairn = await connectNetwork({
  network: await readFile(networkFile, 'utf8'),
  privateKey: (await readFile(keyFile, 'utf8')).trim(),
})
try {
  const data = randomBytes(2_000_029)
  const put = await cairn.put([data], { k: 2, n: 4 })
  const chunks = []
  for await (const chunk of cairn.get(put.capability)) chunks.push(chunk)
  const sha = (bytes) => createHash('sha256').update(bytes).digest('hex')
  let readOnly
  const reader = await connectNetwork({ network: await readFile(networkFile, 'utf8') })
  try {
    await reader.put([data])
  } catch (caught) {
    readOnly = { code: caught.code, message: caught.message }
  } finally {
    await reader.close()
  }
  console.log(JSON.stringify({
    capability: put.capability,
    dealId: put.deal.dealId,
    sha256: sha(data),
    equal: sha(Buffer.concat(chunks)) === sha(data),
    readOnly,
  }))
} finally {
  await cairn.close()
}
`

const TYPED_FILE = `
import { type BrowserClient, type PageConnection, connectNetwork, createClient as createPageClient } from 'cairn'
export type { BrowserClient }
export const page: typeof createPageClient = createPageClient
// connectNetwork takes the Node entry's arguments in a page too
export const joining: Promise<PageConnection> = connectNetwork({ network: '{}', privateKey: '0x01' })
`

describe('the SDK installed from its tarball', { timeout: 480_000 }, () => {
  let dir: string
  let project: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-sdk-'))
    project = join(dir, 'project')
    await run(process.execPath, [join(ROOT, 'scripts/build-sdk.ts')], { cwd: ROOT })
    // --ignore-scripts: prepack would build dist/ again and prepare builds the dashboard, which the SDK does not ship.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
    })
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    assert.ok(packed !== undefined)
    const packedPaths = packed.files.map((f) => f.path)
    assert.ok(packedPaths.includes('dist/node/index.js') && packedPaths.includes('dist/browser/index.js'))
    assert.ok(!packedPaths.some((p) => p.startsWith('src/') || p.startsWith('test/')), 'the tarball ships dist/ only')
    const installed = join(project, 'node_modules', 'cairn')
    await mkdir(installed, { recursive: true })
    await run('tar', ['-xzf', join(dir, packed.filename), '-C', installed, '--strip-components=1'])
    for (const name of await readdir(join(ROOT, 'node_modules'))) {
      if (name === 'cairn' || name.startsWith('.')) continue
      await symlink(join(ROOT, 'node_modules', name), join(project, 'node_modules', name))
    }
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'sdk-user', type: 'module', private: true }))
  })

  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it("(a) a Node script imports 'cairn' (the node condition) and puts and gets a file", async () => {
    await writeFile(join(project, 'script.mjs'), NODE_SCRIPT)
    const { stdout } = await run(process.execPath, ['script.mjs'], { cwd: project, timeout: 60_000 })
    const result = JSON.parse(stdout) as {
      resolved: string
      capability: string
      slots: number
      equal: boolean
      error: { cairn: boolean; typed: boolean; code: string; message: string }
    }
    assert.match(result.resolved, /node_modules\/cairn\/dist\/node\/index\.js$/)
    assert.match(result.capability, /^cairn:\w+#/)
    assert.equal(result.slots, 4)
    assert.equal(result.equal, true, 'the file read back is the file put')
    assert.equal(result.error.cairn && result.error.typed, true, `a typed error: ${JSON.stringify(result.error)}`)
    assert.equal(result.error.code, 'ERR_INVALID_CAPABILITY')
  })

  it("(b) a bundler builds import { createClient } from 'cairn' for the browser with no Node built-in", async () => {
    await writeFile(
      join(project, 'page.js'),
      "import { connectNetwork, createBrowserHost, createClient, putFromPage } from 'cairn'\nglobalThis.cairn = { connectNetwork, createBrowserHost, createClient, putFromPage }\n",
    )
    const builtins: string[] = []
    const output = await build({
      input: join(project, 'page.js'),
      cwd: project,
      platform: 'browser',
      logLevel: 'silent',
      plugins: [
        {
          name: 'no-node-builtins',
          resolveId(id, importer) {
            if (id.startsWith('node:') || isBuiltin(id)) builtins.push(`${importer}: ${id}`)
            return null
          },
        },
      ],
      output: { dir: join(project, 'out'), format: 'esm', minify: true },
      write: true,
    })
    assert.deepEqual(builtins, [], 'no module of the browser bundle imports a Node built-in')
    const text = (await Promise.all(output.output.map((o) => ('code' in o ? o.code : '')))).join('\n')
    assert.doesNotMatch(text, /(?:from|import)\s*\(?\s*["']node:/)
    assert.doesNotMatch(text, /node-datachannel/, 'the Node WebRTC binding stays out of the page')
    assert.match(text, /webrtc-direct/, 'the page client is in the bundle')
  })

  it("(c) a Node script imports 'cairn' and puts and gets a file on a devnet's nodes directly", async () => {
    const devnetDir = join(dir, 'devnet')
    const devnet: LongRunning = startCairn(['devnet', '--dir', devnetDir, '--nodes', '4', '--no-gateway'])
    let nodePids: number[] = []
    try {
      await devnet.waitForLine((line) => line.startsWith('devnet ready'), 180_000)
      nodePids = (await readDevnetJson(devnetDir)).nodes.map((node) => node.pid)
      await writeFile(join(project, 'devnet.mjs'), DEVNET_SCRIPT)
      const { stdout } = await run(
        process.execPath,
        ['devnet.mjs', join(devnetDir, 'network.json'), join(devnetDir, 'user.key')],
        { cwd: project, timeout: 180_000 },
      )
      const result = JSON.parse(stdout) as { nodes: number; capability: string; sha256: string; equal: boolean }
      assert.equal(result.nodes, 4, 'the script reached every node of the network file')
      assert.equal(result.equal, true, 'the script read back what it put')
      const { bytes } = await devnetCli(devnetDir, { timeoutMs: 120_000 }).getBytes(result.capability)
      assert.equal(createHash('sha256').update(bytes).digest('hex'), result.sha256, 'cairn get reads what the SDK put')

      // connectNetwork: the network file and a key are all a Node program needs; a put opens and pays its deal
      await writeFile(join(project, 'connect.mjs'), CONNECT_SCRIPT)
      const connected = JSON.parse(
        (
          await run(process.execPath, ['connect.mjs', join(devnetDir, 'network.json'), join(devnetDir, 'user.key')], {
            cwd: project,
            timeout: 180_000,
          })
        ).stdout,
      ) as {
        capability: string
        dealId: string
        sha256: string
        equal: boolean
        readOnly?: { code: string; message: string }
      }
      assert.equal(connected.equal, true, 'connectNetwork read back what it put')
      assert.match(connected.dealId, /^\d+$/, 'the put opened a deal')
      assert.equal(connected.readOnly?.code, 'ERR_INVALID_ARGUMENT', 'a put without a key says it needs one')
      assert.match(connected.readOnly?.message ?? '', /privateKey of a funded wallet/)
      const again = await devnetCli(devnetDir, { timeoutMs: 120_000 }).getBytes(connected.capability)
      assert.equal(createHash('sha256').update(again.bytes).digest('hex'), connected.sha256, 'cairn get reads it too')
    } finally {
      await devnet.stop('SIGTERM', 15_000)
      await stopAll(nodePids)
    }
  })

  it('(d) the package carries its types: tsc checks a file importing the browser client', async () => {
    await writeFile(join(project, 'page-types.ts'), TYPED_FILE)
    const tsconfig = {
      compilerOptions: {
        target: 'esnext',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        customConditions: ['browser'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
        lib: ['esnext', 'dom'],
      },
      files: ['page-types.ts'],
    }
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify(tsconfig))
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', project], { cwd: project, timeout: 120_000 }).catch(
      (error: { stdout?: string }) => assert.fail(`tsc rejected the package's types: ${error.stdout}`),
    )
    const types = await readFile(join(project, 'node_modules/cairn/dist/types/client/sdk-browser.d.ts'), 'utf8')
    assert.match(types, /createBrowserClient as createClient/)
  })
})
