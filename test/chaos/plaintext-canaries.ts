/**
 * Scenario 7, plaintext canaries: files whose content and names carry a seeded canary string are stored through the
 * CLI (`cairn put`, `--name`), the gateway's REST API and its S3 endpoint (a single PUT and a multipart upload), then
 * read back. Once the devnet is stopped (anvil saves its chain state), every file under the devnet folder (node
 * folders, node logs, chain state, gateway folder) and every temporary file the processes wrote (TMPDIR is the
 * run's own folder) is searched for the canary, as text and as base64. The user's own record of the names it typed
 * (the client folder, CAIRN_HOME) is reported apart; any other hit counts.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import type { S3Credentials } from '../../src/api/index.ts'
import { startChaosDevnet } from './chaos-devnet.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

const MiB = 1024 * 1024
/** Files larger than this are not searched (none of a devnet's is). */
const MAX_SCANNED_BYTES = 512 * MiB

/** Every regular file under `dir` (recursively), skipping `skip` folders. */
async function filesUnder(dir: string, skip: string[] = []): Promise<string[]> {
  const out: string[] = []
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  for (const e of entries) {
    const path = join(e.parentPath, e.name)
    if (!e.isFile() || skip.some((s) => path.startsWith(s))) continue
    out.push(path)
  }
  return out
}

/** Each file holding any of `needles`, with the needles found. */
async function search(paths: string[], needles: Buffer[]): Promise<Array<{ path: string; needles: string[] }>> {
  const hits: Array<{ path: string; needles: string[] }> = []
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined)
    if (info === undefined || info.size > MAX_SCANNED_BYTES) continue
    const bytes = await readFile(path).catch(() => undefined)
    if (bytes === undefined) continue
    const found = needles.filter((needle) => bytes.includes(needle)).map((n) => n.toString('utf8'))
    if (found.length > 0) hits.push({ path, needles: found })
  }
  return hits
}

/** A canary's text with filler, compressible like a real document. */
function canaryDocument(canary: string, size: number): Buffer {
  const parts: string[] = []
  let length = 0
  while (length < size) {
    const line = `line ${parts.length}: secret ${canary} ${randomBytes(8).toString('hex')}\n`
    parts.push(line)
    length += line.length
  }
  return Buffer.from(parts.join(''))
}

export const plaintextCanaries: Scenario = {
  name: 'plaintext-canaries',
  number: 7,
  timeoutMs: { full: 10 * 60_000, quick: 240_000 },
  async run(context: ChaosContext) {
    const failures: string[] = []
    const token = context.rng.bytes(8).toString('hex')
    // Neither contains the other: a hit says which leaked, the content or a name.
    const canary = `C0NTENT${token}`
    const nameCanary = `N4ME${token}`
    const devnet = await startChaosDevnet({ dir: join(context.workDir, 'devnet'), nodes: 6, gateway: true })
    let hits: Array<{ path: string; needles: string[] }> = []
    let userSide: Array<{ path: string; needles: string[] }> = []
    const stored: string[] = []
    let scanned = 0
    try {
      // 1. The CLI, a file named after the canary and an explicit --name.
      const cliDoc = canaryDocument(canary, 300_000)
      const viaCli = await devnet.put(`${nameCanary}-cli.txt`, cliDoc, 2, 4, ['--name', `${nameCanary}-named.txt`])
      if (!viaCli.ok) failures.push(`cairn put failed: ${viaCli.error}`)
      else if ((await devnet.get(viaCli.capability!)).bytes?.equals(cliDoc) !== true)
        failures.push('the CLI file read back wrong')
      else stored.push('cli')
      // 2. The gateway's REST API.
      const info = JSON.parse(await readFile(join(devnet.dir, 'devnet.json'), 'utf8')) as { gateway?: string }
      const apiToken = (await readFile(join(devnet.dir, 'gateway', 'api-token'), 'utf8')).trim()
      if (info.gateway === undefined) throw new Error('the devnet started no gateway')
      const restDoc = canaryDocument(canary, 200_000)
      const response = await fetch(
        `${info.gateway}/api/v1/files?name=${encodeURIComponent(`${nameCanary}-rest.txt`)}&k=2&n=4`,
        {
          method: 'POST',
          body: restDoc,
          headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'text/plain' },
        },
      )
      const restText = await response.text()
      if (!response.ok) failures.push(`gateway upload answered ${response.status}: ${restText.slice(0, 300)}`)
      else {
        const { capability } = JSON.parse(restText) as { capability: string }
        const back = await fetch(`${info.gateway}/api/v1/files/${encodeURIComponent(capability)}/content`, {
          headers: { authorization: `Bearer ${apiToken}` },
        })
        if (!Buffer.from(await back.arrayBuffer()).equals(restDoc)) failures.push('the gateway file read back wrong')
        else stored.push('rest')
      }
      // 3. S3: a bucket and keys named after the canary, one PUT and one multipart upload.
      const creds = await devnet.run(['s3', 'credentials', '--json', '--devnet', devnet.dir])
      if (creds.code !== 0) throw new Error(`cairn s3 credentials failed: ${creds.stderr}`)
      const credentials = JSON.parse(creds.stdout.toString('utf8')) as S3Credentials
      const s3 = new S3Client({
        endpoint: credentials.endpoint,
        region: credentials.region,
        forcePathStyle: true,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
        maxAttempts: 1,
      })
      try {
        const bucket = `b${token}`
        await s3.send(new CreateBucketCommand({ Bucket: bucket }))
        const s3Doc = canaryDocument(canary, 100_000)
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `dir/${nameCanary}-s3.txt`, Body: s3Doc }))
        const key = `dir/${nameCanary}-multipart.txt`
        const part1 = canaryDocument(canary, 5 * MiB)
        const part2 = canaryDocument(canary, 50_000)
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
        const e1 = await s3.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: part1 }),
        )
        const e2 = await s3.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: part2 }),
        )
        await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            MultipartUpload: {
              Parts: [
                { PartNumber: 1, ETag: e1.ETag! },
                { PartNumber: 2, ETag: e2.ETag! },
              ],
            },
          }),
        )
        for (const [k, expected] of [
          [`dir/${nameCanary}-s3.txt`, s3Doc],
          [key, Buffer.concat([part1, part2])],
        ] as const) {
          const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }))
          const bytes = Buffer.from(await got.Body!.transformToByteArray())
          if (!bytes.equals(expected)) failures.push(`S3 object ${k} read back wrong`)
        }
        stored.push('s3', 's3-multipart')
      } catch (err) {
        failures.push(`S3 step failed: ${(err as Error).message}`)
      } finally {
        s3.destroy()
      }
    } finally {
      // Stopped first: anvil writes its chain state on SIGTERM, and logs are flushed.
      await devnet.stop()
    }
    const needles = [canary, nameCanary].flatMap((c) => [
      Buffer.from(c),
      Buffer.from(Buffer.from(c).toString('base64').slice(0, 16)),
    ])
    const inputs = join(devnet.dir, 'inputs')
    const paths = [
      ...(await filesUnder(devnet.dir, [inputs])),
      ...(await filesUnder(process.env.TMPDIR ?? '', [context.workDir])),
    ]
    scanned = paths.length
    const all = await search(paths, needles)
    // The user's own records on its own machine: the client's list of files put (names it typed), and the names of
    // the gateway's index (the gateway is the user's service). Content there, or a name in a gateway log, counts.
    const isUserRecord = (hit: { path: string; needles: string[] }) =>
      hit.path.startsWith(join(devnet.dir, 'client')) ||
      (hit.path.startsWith(join(devnet.dir, 'gateway', 'index.sqlite')) &&
        !hit.needles.some((n) => n.startsWith('C0NTENT')))
    userSide = all.filter(isUserRecord)
    hits = all.filter((h) => !isUserRecord(h))
    for (const hit of hits) failures.push(`canary ${hit.needles.join(', ')} in ${relative(context.workDir, hit.path)}`)
    return {
      ok: failures.length === 0,
      runs: 1,
      failures,
      plaintext_hits: hits.length,
      acknowledged_files: stored.length,
      lost_files: 0,
      details: {
        stored_through: stored,
        files_scanned: scanned,
        hits: hits.map((h) => `${relative(context.workDir, h.path)}: ${h.needles.join(', ')}`),
        user_side_records: userSide.map((h) => `${relative(context.workDir, h.path)}: ${h.needles.join(', ')}`),
      },
    }
  },
}
