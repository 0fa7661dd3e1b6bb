/**
 * A test cluster in Linux network namespaces: one router, `subnets` /24 subnets bridged in the router with node hosts
 * on them, one chain host, one user host, and node hosts behind a NAT namespace (nftables masquerade, no inbound
 * route). Addresses are private (10.13.0.0/16 and 192.168.77.0/24) and exist only inside these namespaces: no host
 * has a route to the real machine. Every namespace name starts with a per-run prefix; `destroy()` (and a process exit
 * or signal hook) kills every process inside them and deletes them, and a new cluster first removes what a crashed
 * run of this harness left.
 *
 * Layout (`createCluster()` with the defaults):
 *   s1 10.13.1.0/24: n1 .11, n2 .12, chain .5      s2 10.13.2.0/24: n3 .11, n4 .12, user .100
 *   s3 10.13.3.0/24: n5 .11, n6 .12                 wan 10.13.100.0/24: the NAT's outside .2
 *   behind the NAT, 192.168.77.0/24: nat1 .11 (its traffic leaves as 10.13.100.2)
 *
 * @example
 * ```ts
 * const cluster = await createCluster()
 * try {
 *   const node = cluster.spawn('n1', ['cairn', 'node', 'start', '--dir', '/tmp/n1'])
 *   await node.waitForLine((line) => line.includes('"ready"'), 30_000)
 *   await cluster.partition([['n1', 'n2'], ['n3']])
 *   await cluster.heal()
 * } finally {
 *   await cluster.destroy()
 * }
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { destroyNamespaceSync, inNs, listNamespaces, namespaceSupport, sh } from './netns.ts'

export { namespaceSupport }

const NS_PREFIX = 'cct'
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const CAIRN_BIN = fileURLToPath(new URL('../../bin/cairn.js', import.meta.url))
const NAT_LAN = '192.168.77'
const WAN = '10.13.100'

export interface ClusterInit {
  /** Public /24 subnets (at least 3). Default 3. */
  subnets?: number
  /** Node hosts per public subnet. Default 2. */
  nodesPerSubnet?: number
  /** Node hosts behind the NAT. Default 1. */
  natNodes?: number
  /** Cap on traffic routed into each subnet from the others (tc tbf rate, e.g. '50mbit'). Default: no cap. */
  bandwidth?: string
}

/** One host: its namespace and address. */
export interface ClusterHost {
  name: string
  ns: string
  address: string
  /** 's1'..'sN', 'nat' for hosts behind the NAT. */
  subnet: string
  /** The host is behind the NAT (no inbound route). */
  natted: boolean
}

/** A process running in a host. */
export interface ClusterProcess {
  host: string
  child: ChildProcess
  /** Every stdout line so far. */
  lines(): string[]
  /** Everything the process wrote so far (stdout then stderr), for failure messages. */
  output(): string
  /** Resolves with the first stdout line matching `match`; rejects on exit or timeout (naming the output). */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** argv[0] 'cairn' runs the repository's CLI, 'node' this Node (with the repo as working folder); else a binary. */
function command(argv: string[]): { file: string; args: string[] } {
  const [first, ...rest] = argv
  if (first === undefined) throw new Error('empty command')
  if (first === 'cairn') return { file: process.execPath, args: [CAIRN_BIN, ...rest] }
  if (first === 'node') return { file: process.execPath, args: rest }
  return { file: first, args: rest }
}

export class Cluster {
  readonly prefix: string
  readonly hosts = new Map<string, ClusterHost>()
  readonly router: string
  readonly #processes = new Set<ClusterProcess>()
  readonly #namespaces: string[] = []
  readonly #init: Required<ClusterInit>
  #destroyed = false
  readonly #onExit = () => this.destroySync()
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.destroySync()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }

  constructor(init: ClusterInit) {
    this.#init = { subnets: 3, nodesPerSubnet: 2, natNodes: 1, bandwidth: '', ...init }
    if (this.#init.subnets < 3) throw new Error('a cluster needs at least 3 subnets')
    this.prefix = `${NS_PREFIX}${process.pid}x${Math.random().toString(36).slice(2, 6)}`
    this.router = `${this.prefix}-router`
  }

  /** Host by name; throws naming the known hosts. */
  host(name: string): ClusterHost {
    const host = this.hosts.get(name)
    if (host === undefined)
      throw new Error(`no host ${name} in the cluster (hosts: ${[...this.hosts.keys()].join(', ')})`)
    return host
  }

  /** Names of the node hosts (public ones first, then those behind the NAT). */
  nodeHosts(): string[] {
    return [...this.hosts.values()].filter((h) => h.name.startsWith('n')).map((h) => h.name)
  }

  async build(): Promise<void> {
    removeStaleNamespaces()
    process.once('exit', this.#onExit)
    process.once('SIGINT', this.#onSignal)
    process.once('SIGTERM', this.#onSignal)
    await this.#addNs(this.router)
    await inNs(this.router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    for (let s = 1; s <= this.#init.subnets; s++) {
      const bridge = `br${s}`
      await inNs(this.router, ['ip', 'link', 'add', bridge, 'type', 'bridge'])
      await inNs(this.router, ['ip', 'addr', 'add', `10.13.${s}.1/24`, 'dev', bridge])
      await inNs(this.router, ['ip', 'link', 'set', bridge, 'up'])
      if (this.#init.bandwidth !== '') await this.capBandwidth(`s${s}`, this.#init.bandwidth)
      const names: Array<[string, number]> = []
      for (let j = 1; j <= this.#init.nodesPerSubnet; j++) {
        names.push([`n${(s - 1) * this.#init.nodesPerSubnet + j}`, 10 + j])
      }
      if (s === 1) names.push(['chain', 5])
      if (s === 2) names.push(['user', 100])
      for (const [name, octet] of names)
        await this.#addHost(name, `s${s}`, `10.13.${s}.${octet}`, bridge, `10.13.${s}.1`)
    }
    await this.#buildNat()
  }

  async #addNs(ns: string): Promise<void> {
    await sh('ip', ['netns', 'add', ns])
    this.#namespaces.push(ns)
    await inNs(ns, ['ip', 'link', 'set', 'lo', 'up'])
  }

  async #addHost(name: string, subnet: string, address: string, bridge: string, gateway: string): Promise<void> {
    const ns = `${this.prefix}-${name}`
    await this.#addNs(ns)
    const port = `v${name}`
    await sh('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.router])
    await inNs(this.router, ['ip', 'link', 'set', port, 'master', bridge, 'up'])
    await inNs(ns, ['ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0'])
    await inNs(ns, ['ip', 'link', 'set', 'eth0', 'up'])
    await inNs(ns, ['ip', 'route', 'add', 'default', 'via', gateway])
    this.hosts.set(name, { name, ns, address, subnet, natted: false })
  }

  /** The NAT namespace: outside on the wan link, inside 192.168.77.0/24; masquerade out, nothing new in. */
  async #buildNat(): Promise<void> {
    const nat = `${this.prefix}-nat`
    await this.#addNs(nat)
    await sh('ip', ['link', 'add', 'wan', 'netns', nat, 'type', 'veth', 'peer', 'name', 'vwan', 'netns', this.router])
    await inNs(this.router, ['ip', 'addr', 'add', `${WAN}.1/24`, 'dev', 'vwan'])
    await inNs(this.router, ['ip', 'link', 'set', 'vwan', 'up'])
    await inNs(nat, ['ip', 'addr', 'add', `${WAN}.2/24`, 'dev', 'wan'])
    await inNs(nat, ['ip', 'link', 'set', 'wan', 'up'])
    await inNs(nat, ['ip', 'route', 'add', 'default', 'via', `${WAN}.1`])
    await inNs(nat, ['ip', 'link', 'add', 'lan', 'type', 'bridge'])
    await inNs(nat, ['ip', 'addr', 'add', `${NAT_LAN}.1/24`, 'dev', 'lan'])
    await inNs(nat, ['ip', 'link', 'set', 'lan', 'up'])
    await inNs(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    const rules = `table ip cairnnat {
  chain postrouting { type nat hook postrouting priority 100; oifname "wan" masquerade; }
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "lan" accept; }
}
`
    await inNs(nat, ['nft', '-f', '-'], rules)
    for (let i = 1; i <= this.#init.natNodes; i++) {
      const name = `nat${i}`
      const ns = `${this.prefix}-${name}`
      await this.#addNs(ns)
      const port = `v${name}`
      await sh('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', nat])
      await inNs(nat, ['ip', 'link', 'set', port, 'master', 'lan', 'up'])
      const address = `${NAT_LAN}.${10 + i}`
      await inNs(ns, ['ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0'])
      await inNs(ns, ['ip', 'link', 'set', 'eth0', 'up'])
      await inNs(ns, ['ip', 'route', 'add', 'default', 'via', `${NAT_LAN}.1`])
      this.hosts.set(name, { name, ns, address, subnet: 'nat', natted: true })
    }
  }

  /** Starts `argv` in `host` (see `command`); its output is collected; `kill(host)` or `destroy()` ends it. */
  spawn(host: string, argv: string[], options: { env?: Record<string, string> } = {}): ClusterProcess {
    const { ns } = this.host(host)
    const { file, args } = command(argv)
    const child = spawn('ip', ['netns', 'exec', ns, file, ...args], {
      cwd: REPO,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: string[] = []
    let stdout = ''
    let stderr = ''
    let partial = ''
    const waiters = new Set<() => void>()
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      stdout += text
      const parts = (partial + text).split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts)
      for (const wake of waiters) wake()
    })
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-20_000)
    })
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        for (const wake of waiters) wake()
        resolve(code)
      })
    })
    const output = () => `${stdout.slice(-20_000)}${stderr === '' ? '' : `\n[stderr]\n${stderr}`}`
    const process_: ClusterProcess = {
      host,
      child,
      lines: () => [...lines],
      output,
      exited,
      waitForLine: (match, timeoutMs) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(
            () => finish(new Error(`no matching line from ${host} within ${timeoutMs} ms:\n${output()}`)),
            timeoutMs,
          )
          const check = () => {
            const found = lines.find(match)
            if (found !== undefined) return finish(undefined, found)
            if (child.exitCode !== null || child.signalCode !== null) {
              finish(
                new Error(`${argv.join(' ')} on ${host} exited (${child.exitCode ?? child.signalCode}):\n${output()}`),
              )
            }
          }
          const finish = (error?: Error, line?: string) => {
            clearTimeout(timer)
            waiters.delete(check)
            if (error) reject(error)
            else resolve(line as string)
          }
          waiters.add(check)
          check()
        }),
    }
    this.#processes.add(process_)
    void exited.then(() => this.#processes.delete(process_))
    return process_
  }

  /** Runs `argv` in `host` to completion (bounded by `timeoutMs`, default 60 s) and returns its exit code and output. */
  async run(host: string, argv: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}) {
    const started = this.spawn(host, argv, options)
    const timer = setTimeout(() => started.child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    const code = await started.exited
    clearTimeout(timer)
    const text = started.output()
    const split = text.indexOf('\n[stderr]\n')
    return {
      code,
      stdout: split === -1 ? text : text.slice(0, split),
      stderr: split === -1 ? '' : text.slice(split + 10),
    } satisfies RunResult
  }

  /** GETs `url` from inside `host` (e.g. a node's control API on its 127.0.0.1) and parses the JSON answer. */
  async getJson(host: string, url: string): Promise<unknown> {
    const script = `const r = await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }); process.stdout.write(await r.text())`
    const result = await this.run(host, ['node', '--input-type=module', '-e', script], { timeoutMs: 15_000 })
    if (result.code !== 0) throw new Error(`GET ${url} on ${host} failed: ${result.stderr}`)
    return JSON.parse(result.stdout)
  }

  /** Whether a TCP connection from `from` to `address:port` opens within `timeoutMs` (default 2 s). */
  async canConnect(from: string, address: string, port: number, timeoutMs = 2_000): Promise<boolean> {
    const script = `import { connect } from 'node:net'
const socket = connect({ host: ${JSON.stringify(address)}, port: ${port}, timeout: ${timeoutMs} })
socket.on('connect', () => { socket.destroy(); process.exit(0) })
socket.on('timeout', () => process.exit(1))
socket.on('error', () => process.exit(1))`
    const result = await this.run(from, ['node', '--input-type=module', '-e', script], { timeoutMs: timeoutMs + 5_000 })
    return result.code === 0
  }

  /** Kills every process in `host` (SIGKILL), as a crashed machine. */
  async kill(host: string): Promise<void> {
    const { ns } = this.host(host)
    const pids = (await sh('ip', ['netns', 'pids', ns])).split('\n').filter(Boolean)
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {}
    }
    await Promise.all([...this.#processes].filter((p) => p.host === host).map((p) => p.exited))
  }

  /**
   * Cuts traffic between hosts of different groups (routed and bridged); hosts in no group keep their links. Replaces
   * any earlier partition.
   */
  async partition(groups: string[][]): Promise<void> {
    await this.heal()
    const rules: string[] = []
    for (const [i, group] of groups.entries()) {
      for (const other of groups.slice(i + 1)) {
        for (const a of group) {
          for (const b of other) {
            const [x, y] = [this.#outsideAddress(a), this.#outsideAddress(b)]
            rules.push(`ip saddr ${x} ip daddr ${y} drop`, `ip saddr ${y} ip daddr ${x} drop`)
          }
        }
      }
    }
    const body = rules.map((rule) => `    ${rule}`).join('\n')
    const table = (family: string) =>
      `table ${family} cairnpart {\n  chain forward {\n    type filter hook forward priority -10;\n${body}\n  }\n}\n`
    await inNs(this.router, ['nft', '-f', '-'], table('inet') + table('bridge'))
  }

  /** Removes the partition. */
  async heal(): Promise<void> {
    for (const family of ['inet', 'bridge']) {
      await inNs(this.router, ['nft', 'delete', 'table', family, 'cairnpart']).catch(() => {})
    }
  }

  /** Caps traffic routed into subnet `subnet` ('s1'..) from the other subnets (tc tbf on its bridge in the router). */
  async capBandwidth(subnet: string, rate: string): Promise<void> {
    const bridge = subnet.startsWith('s') ? `br${subnet.slice(1)}` : subnet
    await inNs(this.router, [
      'tc',
      'qdisc',
      'replace',
      'dev',
      bridge,
      'root',
      'tbf',
      'rate',
      rate,
      'burst',
      '64kb',
      'latency',
      '200ms',
    ])
  }

  /** Removes the cap of `capBandwidth` from subnet `subnet` (its bridge's default queue again). */
  async uncapBandwidth(subnet: string): Promise<void> {
    const bridge = subnet.startsWith('s') ? `br${subnet.slice(1)}` : subnet
    await inNs(this.router, ['tc', 'qdisc', 'del', 'dev', bridge, 'root']).catch(() => {})
  }

  /** The address a host's packets carry in the router (the NAT's outside address for hosts behind it). */
  #outsideAddress(name: string): string {
    const host = this.host(name)
    return host.natted ? `${WAN}.2` : host.address
  }

  /** Stops every process and deletes every namespace of this cluster. */
  async destroy(): Promise<void> {
    this.destroySync()
    await Promise.all([...this.#processes].map((p) => p.exited))
  }

  /** Synchronous clean-up (exit hook); idempotent. */
  destroySync(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    process.off('exit', this.#onExit)
    process.off('SIGINT', this.#onSignal)
    process.off('SIGTERM', this.#onSignal)
    for (const p of this.#processes) p.child.kill('SIGKILL')
    // hosts first, the router last (the veths go with their namespaces)
    for (const ns of [...this.#namespaces].reverse()) destroyNamespaceSync(ns)
  }
}

/** Deletes namespaces of this harness whose creating process no longer runs (a crashed or killed earlier run). */
function removeStaleNamespaces(): void {
  for (const name of listNamespaces()) {
    const match = new RegExp(`^${NS_PREFIX}(\\d+)x[a-z0-9]+-`).exec(name)
    if (match === null) continue
    const pid = Number(match[1])
    let alive = true
    try {
      process.kill(pid, 0)
    } catch {
      alive = false
    }
    if (!alive) destroyNamespaceSync(name)
  }
}

/** Creates and builds a cluster; on a failure half-way, removes what was made and rethrows. */
export async function createCluster(init: ClusterInit = {}): Promise<Cluster> {
  const cluster = new Cluster(init)
  try {
    await cluster.build()
  } catch (error) {
    await cluster.destroy()
    throw error
  }
  return cluster
}
