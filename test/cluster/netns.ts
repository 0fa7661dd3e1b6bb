/**
 * Thin wrappers over `ip`, `nft` and `tc` for the cluster harness: run a command (in a namespace or not), fail with
 * its stderr, and the synchronous clean-up an exit hook can still run. Only this folder's harness uses them.
 */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** Runs `file args` and returns stdout; throws with the command and its stderr. */
export async function sh(file: string, args: string[], input?: string): Promise<string> {
  try {
    if (input === undefined) return (await execFileAsync(file, args, { timeout: 20_000 })).stdout
    return await new Promise<string>((resolve, reject) => {
      const child = execFile(file, args, { timeout: 20_000 }, (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr }))
        else resolve(stdout)
      })
      child.stdin?.end(input)
    })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || (error as Error).message}`)
  }
}

/** Runs `args` inside namespace `ns`. */
export async function inNs(ns: string, args: string[], input?: string): Promise<string> {
  return await sh('ip', ['netns', 'exec', ns, ...args], input)
}

/** Why namespaces cannot be made here (not root, no `ip`, no `nft`, no `tc`), or undefined when they can. */
export function namespaceSupport(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)'
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['tc', ['-V']],
  ] as const) {
    try {
      execFileSync(tool, [...args], { stdio: 'ignore' })
    } catch {
      return `\`${tool}\` is not installed (apt-get install -y iproute2 nftables)`
    }
  }
  const probe = `cairn-probe-${process.pid}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' })
  } catch {
    return 'this machine refuses to create network namespaces (`ip netns add` failed)'
  }
  return undefined
}

/** Names of existing namespaces. */
export function listNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((name) => name !== '')
  } catch {
    return []
  }
}

/** Kills every process inside `ns` (SIGKILL), then deletes it. Synchronous: safe in an exit hook. Never throws. */
export function destroyNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {}
    }
  } catch {}
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  } catch {}
}
