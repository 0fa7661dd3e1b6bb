/**
 * Scenario 5, crash points: the writing processes SIGKILL themselves at a seeded hit of a crash point of their write
 * paths (the product's test-only switch CAIRN_FAULT_CRASH_AT=<point>:<n>, src/storage/crash-point.ts), then restart
 * without the switch. A node receiving puts (piece store temp write and rename, state files between fsync and rename
 * and after, the chain service's cursor save), `cairn put` (its file record) and `cairn gateway` taking an S3
 * multipart upload (the staged part synced, the part committed). After each crash: the process starts again, every
 * JSON state file parses (no torn state), and every file acknowledged so far reads back byte-equal.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { s3Credentials } from '../../src/api/index.ts'
import type { CrashPointName } from '../../src/storage/index.ts'
import { cairn, type LongRunning, processExists, readDevnetJson, startCairn } from '../e2e/devnet-fixture.ts'
import { waitFor } from '../wait-for.ts'
import { type ChaosDevnet, registerCleanup, startChaosDevnet } from './chaos-devnet.ts'
import type { Random } from './random.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

const MiB = 1024 * 1024
const NODE_POINTS: CrashPointName[] = [
  'piece-store:temp-written',
  'piece-store:renamed',
  'durable-file:synced',
  'state-file:written',
  'chain-cursor:saved',
]
const GATEWAY_POINTS: CrashPointName[] = ['multipart:part-synced', 'multipart:part-committed']

type Target = 'node' | 'cli' | 'gateway'
interface CrashCase {
  target: Target
  point: CrashPointName
  hit: number
  /** The node index, for a node case. */
  node?: number
}

interface CaseOutcome extends CrashCase {
  /** The process died by the switch's SIGKILL. */
  crashed: boolean
  restarted: boolean
  acknowledged: number
}

/** An acknowledged file: a put that returned a capability, or an S3 object whose upload completed. */
type Acknowledged =
  | { kind: 'cli'; name: string; capability: string; bytes: Buffer }
  | { kind: 's3'; name: string; bucket: string; key: string; bytes: Buffer }

/** The seeded cases: one of each target first, then node, CLI and gateway cases in turn. */
function crashCases(rng: Random, count: number, nodes: number): CrashCase[] {
  const cases: CrashCase[] = []
  const targets: Target[] = ['node', 'cli', 'gateway']
  for (let i = 0; i < count; i++) {
    const target =
      i < targets.length ? targets[i]! : rng.int(0, 9) < 6 ? 'node' : rng.int(0, 1) === 0 ? 'cli' : 'gateway'
    if (target === 'node') {
      const point = NODE_POINTS[rng.int(0, NODE_POINTS.length - 1)]!
      // Hits late enough that puts often succeed on the node before it dies (their pieces must then survive).
      const hit = point.startsWith('piece-store')
        ? rng.int(3, 10)
        : point === 'chain-cursor:saved'
          ? rng.int(1, 3)
          : rng.int(2, 6)
      cases.push({ target, point, hit, node: rng.int(1, nodes - 1) })
    } else if (target === 'cli') {
      cases.push({ target, point: 'file-records:appended', hit: 1 })
    } else {
      cases.push({ target, point: GATEWAY_POINTS[rng.int(0, 1)]!, hit: rng.int(1, 2) })
    }
  }
  return cases
}

/** Every *.json and *.jsonl under `dir` (not piece payloads nor the chain's own state) that does not parse. */
async function tornStateFiles(dir: string): Promise<string[]> {
  const torn: string[] = []
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'pieces' && entry.name !== 'chain' && entry.name !== 'inputs') await walk(path)
        continue
      }
      if (!entry.name.endsWith('.json') && !entry.name.endsWith('.jsonl')) continue
      const text = await readFile(path, 'utf8').catch(() => undefined)
      if (text === undefined) continue
      try {
        if (entry.name.endsWith('.json')) JSON.parse(text)
        else for (const line of text.split('\n').filter((l) => l.trim() !== '')) JSON.parse(line)
      } catch {
        torn.push(path)
      }
    }
  }
  await walk(dir)
  return torn
}

/** The command line a devnet node runs (from /proc), with its listen and API ports fixed to the ones it has now. */
async function nodeCommand(devnet: ChaosDevnet, index: number, pid: number): Promise<string[]> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '')
  const args = argv.slice(argv.findIndex((a) => a.endsWith('main.ts')) + 1)
  const node = devnet.nodes[index]!
  const bound = node.multiaddrs.map((m) => m.split('/p2p/')[0]!)
  const apiPort = new URL((node as { api: string }).api).port
  for (let i = 0; i < args.length; i++) {
    // Each listen address of port 0 (tcp, tcp/ws...) gets the port it has now, so that peers' addresses stay right.
    if (args[i] === '--listen') {
      const shape = new RegExp(`^${args[i + 1]!.replace('/tcp/0', '/tcp/\\d+').replaceAll('/', '\\/')}$`)
      args[i + 1] = bound.find((m) => shape.test(m)) ?? args[i + 1]!
    }
    if (args[i] === '--api-port') args[i + 1] = apiPort
  }
  return args
}

async function died(process: LongRunning, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor(() => !process.running(), timeoutMs, 'the armed process to crash')
    return process.child.signalCode === 'SIGKILL'
  } catch {
    return false
  }
}

export const crashPoints: Scenario = {
  name: 'crash-points',
  number: 5,
  timeoutMs: { full: 40 * 60_000, quick: 10 * 60_000 },
  async run(context: ChaosContext) {
    const failures: string[] = []
    const nodeCount = 5
    const requested = Number(process.env.CHAOS_CRASH_POINT_CASES ?? (context.quick ? 3 : 14))
    const cases = crashCases(context.rng, requested, nodeCount)
    const devnet = await startChaosDevnet({ dir: join(context.workDir, 'devnet'), nodes: nodeCount })
    const processes = new Set<LongRunning>()
    const unregister = registerCleanup(async () => {
      await Promise.all([...processes].map((p) => p.stop('SIGKILL').catch(() => {})))
    })
    const acknowledged: Acknowledged[] = []
    const outcomes: CaseOutcome[] = []
    const gatewayDir = join(context.workDir, 'gateway')
    let fileIndex = 0
    const nodePids = new Map((await readDevnetJson(devnet.dir)).nodes.map((n, i) => [i, n.pid]))

    /** `cairn put` of a seeded file, (1, n) (default: every node but one, so a dead node does not fail it). */
    const putOne = async (extra: Record<string, string> = {}, n = nodeCount - 1) => {
      const name = `f${fileIndex++}`
      const bytes = context.rng.bytes(context.rng.int(20_000, 200_000))
      const path = join(devnet.dir, 'inputs', name)
      await writeFile(path, bytes)
      const result = await cairn(['put', path, '--k', '1', '--n', String(n), '--json'], {
        env: { CAIRN_DEVNET: devnet.dir, ...extra },
        timeoutMs: 180_000,
      })
      await rm(path, { force: true })
      if (result.code !== 0) return { ok: false as const, code: result.code, error: result.stderr.trim().slice(-300) }
      const { capability } = JSON.parse(result.stdout.toString('utf8')) as { capability: string }
      const file: Acknowledged = { kind: 'cli', name, capability, bytes }
      acknowledged.push(file)
      return { ok: true as const, file }
    }
    const readBack = async (file: Acknowledged): Promise<boolean> =>
      file.kind === 'cli' && (await devnet.get(file.capability)).bytes?.equals(file.bytes) === true

    type GatewayHandle = { process: LongRunning; s3: S3Client }
    const startGateway = async (env: Record<string, string>): Promise<GatewayHandle> => {
      const args = ['gateway', '--network', join(devnet.dir, 'network.json'), '--dir', gatewayDir]
      const gateway = startCairn([...args, '--listen', '127.0.0.1:0', '--s3-listen', '127.0.0.1:0'], env)
      processes.add(gateway)
      await gateway.waitForLine((l) => l.includes('"s3Endpoint"'), 90_000)
      const credentials = await s3Credentials(gatewayDir)
      const s3 = new S3Client({
        endpoint: credentials.endpoint,
        region: credentials.region,
        forcePathStyle: true,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
        maxAttempts: 1,
      })
      return { process: gateway, s3 }
    }
    const stopGateway = async (handle: GatewayHandle) => {
      handle.s3.destroy()
      await handle.process.stop('SIGTERM', 15_000)
      processes.delete(handle.process)
    }
    const s3Read = async (s3: S3Client, bucket: string, key: string): Promise<Buffer | undefined> => {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        return Buffer.from(await got.Body!.transformToByteArray())
      } catch {
        return undefined
      }
    }
    /** A two-part multipart upload (5 MiB + the rest); resolves with the object or the error. */
    const multipart = async (s3: S3Client, name: string) => {
      const bucket = 'crash'
      await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => {})
      const key = `objects/${name}`
      const parts = [context.rng.bytes(5 * MiB), context.rng.bytes(context.rng.int(50_000, 300_000))]
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
      const etags: string[] = []
      for (const [i, body] of parts.entries()) {
        const sent = await s3.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body }),
        )
        etags.push(sent.ETag!)
      }
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
        }),
      )
      const file: Acknowledged = { kind: 's3', name, bucket, key, bytes: Buffer.concat(parts) }
      acknowledged.push(file)
      return file
    }

    const checkState = async (label: string) => {
      for (const path of await tornStateFiles(devnet.dir)) failures.push(`${label}: state file ${path} does not parse`)
      for (const path of await tornStateFiles(gatewayDir)) failures.push(`${label}: state file ${path} does not parse`)
    }

    try {
      // Files acknowledged before any crash: they must survive every one that follows.
      // (A put may fail while the devnet settles, e.g. a node not yet active in the Registry: it says so, and is retried.)
      for (let i = 0, tries = 0; i < 2 && tries < 5; tries++) {
        const put = await putOne()
        if (put.ok) i++
        else context.log(`a put before any crash failed (retried): ${put.error}`)
      }
      if (acknowledged.length < 2) failures.push('the puts before any crash kept failing')
      for (const [i, crash] of cases.entries()) {
        if (context.signal.aborted) break
        const label = `case ${i} (${crash.target} ${crash.point}:${crash.hit}${crash.node === undefined ? '' : ` node ${crash.node}`})`
        context.log(label)
        const before = acknowledged.length
        const outcome: CaseOutcome = { ...crash, crashed: false, restarted: false, acknowledged: 0 }
        const spec = `${crash.point}:${crash.hit}`
        if (crash.target === 'node') {
          const index = crash.node!
          const pid = nodePids.get(index)!
          const args = await nodeCommand(devnet, index, pid)
          process.kill(pid, 'SIGTERM')
          await waitFor(() => !processExists(pid), 30_000, `node ${index} to stop`)
          const armed = startCairn(args, { CAIRN_FAULT_CRASH_AT: spec })
          processes.add(armed)
          await armed.waitForLine((l) => l.includes('"event":"ready"'), 90_000).catch(() => {})
          // Puts that give the armed node a slot each, until it dies (or three puts); then timers may still hit it.
          for (let p = 0; p < 5 && armed.running(); p++) await putOne({}, nodeCount)
          outcome.crashed = await died(armed, armed.running() ? 20_000 : 1_000)
          if (armed.running()) await armed.stop('SIGKILL')
          processes.delete(armed)
          const restarted = startCairn(args)
          processes.add(restarted)
          try {
            await restarted.waitForLine((l) => l.includes('"event":"ready"'), 90_000)
            nodePids.set(index, restarted.pid)
            outcome.restarted = true
            // Its slots of acknowledged files are whole again: the pieces it acknowledged survived the crash.
            const peerId = devnet.nodes[index]!.peerId
            for (const file of acknowledged.filter((f) => f.kind === 'cli')) {
              const whole = await waitFor(
                async () => {
                  const status = await devnet.status(file.capability)
                  if (status === undefined) return undefined
                  const slot = status.slots.find((s) => s.peerId === peerId)
                  return slot === undefined || slot.held === slot.pieces ? 'whole' : undefined
                },
                30_000,
                `node ${index}'s slot of ${file.name}`,
              ).catch(() => undefined)
              if (whole === undefined) failures.push(`${label}: node ${index} lost pieces of acknowledged ${file.name}`)
            }
          } catch (err) {
            failures.push(`${label}: node ${index} did not start again after the crash: ${(err as Error).message}`)
          }
        } else if (crash.target === 'cli') {
          const put = await putOne({ CAIRN_FAULT_CRASH_AT: spec })
          outcome.crashed = !put.ok && put.code === null
          if (put.ok) failures.push(`${label}: the armed put returned instead of crashing`)
          const ls = await cairn(['ls', '--json'], { env: { CAIRN_DEVNET: devnet.dir } })
          outcome.restarted = ls.code === 0
          if (ls.code !== 0) failures.push(`${label}: cairn ls fails after the crash: ${ls.stderr.trim()}`)
        } else {
          const armed = await startGateway({ CAIRN_FAULT_CRASH_AT: spec }).catch((err: Error) => err)
          if (armed instanceof Error) failures.push(`${label}: the armed gateway did not start: ${armed.message}`)
          else {
            const upload = await multipart(armed.s3, `m${fileIndex++}`).catch((err: Error) => err)
            outcome.crashed = await died(armed.process, 10_000)
            if (!(upload instanceof Error) && !outcome.crashed) context.log(`${label}: upload completed, no crash`)
            armed.s3.destroy()
            if (armed.process.running()) await armed.process.stop('SIGKILL')
            processes.delete(armed.process)
          }
          const gateway = await startGateway({}).catch((err: Error) => err)
          if (gateway instanceof Error) {
            failures.push(`${label}: the gateway did not start again after the crash: ${gateway.message}`)
          } else {
            outcome.restarted = true
            try {
              await multipart(gateway.s3, `m${fileIndex++}`)
            } catch (err) {
              failures.push(`${label}: a multipart upload after the restart failed: ${(err as Error).message}`)
            }
            for (const file of acknowledged.filter((f) => f.kind === 's3')) {
              const back = await s3Read(gateway.s3, file.bucket, file.key)
              if (back?.equals(file.bytes) !== true) failures.push(`${label}: S3 object ${file.key} lost or changed`)
            }
            await stopGateway(gateway)
          }
        }
        await checkState(label)
        // What this case acknowledged reads back at once; everything is read back at the end.
        for (const file of acknowledged.slice(before).filter((f) => f.kind === 'cli')) {
          if (!(await readBack(file))) failures.push(`${label}: acknowledged file ${file.name} does not read back`)
        }
        outcome.acknowledged = acknowledged.length - before
        outcomes.push(outcome)
      }
      // Every acknowledged file, byte-equal, after all the crashes.
      let lost = 0
      for (const file of acknowledged.filter((f) => f.kind === 'cli')) {
        if (!(await readBack(file))) {
          lost++
          failures.push(`acknowledged file ${file.name} is lost after the crashes`)
        }
      }
      const s3Files = acknowledged.filter((f) => f.kind === 's3')
      if (s3Files.length > 0) {
        const gateway = await startGateway({})
        try {
          for (const file of s3Files) {
            if ((await s3Read(gateway.s3, file.bucket, file.key))?.equals(file.bytes) !== true) {
              lost++
              failures.push(`acknowledged S3 object ${file.key} is lost after the crashes`)
            }
          }
        } finally {
          await stopGateway(gateway)
        }
      }
      await checkState('after the crashes')
      const exercised = outcomes.filter((o) => o.crashed)
      const notReached = outcomes.filter((o) => !o.crashed).map((o) => `${o.target} ${o.point}:${o.hit}`)
      if (exercised.length === 0) failures.push('no crash point was reached: the switch did not fire')
      return {
        ok: failures.length === 0,
        runs: outcomes.length,
        acknowledged_files: acknowledged.length,
        lost_files: lost,
        crash_points: exercised.length,
        failures,
        details: {
          cases: outcomes.map((o) => ({
            target: o.target,
            point: `${o.point}:${o.hit}`,
            ...(o.node === undefined ? {} : { node: o.node }),
            crashed: o.crashed,
            restarted: o.restarted,
            acknowledged: o.acknowledged,
          })),
          points_reached: [...new Set(exercised.map((o) => o.point))],
          not_reached: notReached,
        },
      }
    } finally {
      unregister()
      await Promise.all([...processes].map((p) => p.stop('SIGTERM', 15_000).catch(() => {})))
      await devnet.stop()
    }
  },
}
