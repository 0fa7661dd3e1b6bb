/**
 * `cairn`: the command line. It parses flags, runs the command and draws; the work is done by src/node.
 * Errors print as one line (`error: ...`) with a stable exit code (see error-message.ts), never a stack trace.
 * Each command's module is loaded only when it runs: a usage error or `--help` answers without loading libp2p or viem.
 */
import type { CommandContext } from './command-context.ts'
import { helpText, parseCommandLine } from './command-line.ts'
import { describeError, EXIT_INTERRUPTED } from './error-message.ts'

/**
 * Runs one `cairn` command line and resolves with its exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['nodes', '--json'], context)
 * ```
 */
export async function runCli(argv: string[], context: CommandContext): Promise<number> {
  try {
    const parsed = parseCommandLine(argv)
    switch (parsed.command) {
      case 'help':
        context.stdout.write(helpText(parsed.topic))
        return 0
      case 'version':
        context.stdout.write(`cairn ${(await import('../node/index.ts')).CAIRN_VERSION}\n`)
        return 0
      case 'devnet':
        return await (await import('./command-devnet.ts')).runDevnet(parsed, context)
      case 'node start':
        return await (await import('./command-node-start.ts')).runNodeStart(parsed, context)
      case 'put':
        return await (await import('./command-put.ts')).runPut(parsed, context)
      case 'get':
        return await (await import('./command-get.ts')).runGet(parsed, context)
      case 'status':
        return await (await import('./command-status.ts')).runStatus(parsed, context)
      case 'nodes':
        return await (await import('./command-nodes.ts')).runNodes(parsed, context)
      case 'ls':
        return await (await import('./command-ls.ts')).runLs(parsed, context)
      case 'rm':
        return await (await import('./command-rm.ts')).runRm(parsed, context)
      case 'node unbond':
        return await (await import('./command-node-stake.ts')).runNodeUnbond(parsed, context)
      case 'node withdraw-stake':
        return await (await import('./command-node-stake.ts')).runNodeWithdrawStake(parsed, context)
      case 'wallet':
        return await (await import('./command-wallet.ts')).runWallet(parsed, context)
      case 'wallet new':
        return await (await import('./command-wallet-new.ts')).runWalletNew(parsed, context)
      case 'wallet send':
        return await (await import('./command-wallet-send.ts')).runWalletSend(parsed, context)
      case 'network deploy':
        return await (await import('./command-network-deploy.ts')).runNetworkDeploy(parsed, context)
      case 'gateway':
        return await (await import('./command-gateway.ts')).runGateway(parsed, context)
      case 'deals':
        return await (await import('./command-deals.ts')).runDeals(parsed, context)
      case 'quote':
        return await (await import('./command-quote.ts')).runQuote(parsed, context)
      case 'renew':
        return await (await import('./command-renew.ts')).runRenew(parsed, context)
      case 'plan':
        return await (await import('./command-plan.ts')).runPlan(parsed, context)
      case 's3':
        return await (await import('./command-s3.ts')).runS3(parsed, context)
      case 'name publish':
        return await (await import('./name-command.ts')).runNamePublish(parsed, context)
      case 'name resolve':
        return await (await import('./name-command.ts')).runNameResolve(parsed, context)
      case 'name history':
        return await (await import('./name-command.ts')).runNameHistory(parsed, context)
    }
  } catch (err) {
    const { line, exitCode } = context.signal.aborted
      ? { line: 'error: interrupted', exitCode: EXIT_INTERRUPTED }
      : describeError(err)
    context.stderr.write(`${line}\n`)
    if (process.env.CAIRN_DEBUG === '1') context.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
    return exitCode
  }
}

/** Runs `cairn` as a program: wires signals and stdio, sets the exit code. */
export async function main(argv: string[]): Promise<void> {
  const controller = new AbortController()
  let signals = 0
  const onSignal = (name: NodeJS.Signals) => {
    signals++
    // A process group signal and a parent's signal often arrive together: only a third one forces the exit.
    if (signals > 2) {
      process.stderr.write(`cairn: second ${name}, exiting now\n`)
      process.exit(EXIT_INTERRUPTED)
    }
    controller.abort(new Error(`received ${name}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
  })
  // Library timeouts (AbortSignal.timeout) do not keep the event loop alive: without a handle of our own, a command
  // waiting only on one of them would end with "unsettled top-level await" (exit 13) instead of timing out.
  const keepAlive = setInterval(() => {}, 60_000)
  const code = await runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    showProgress: process.stderr.isTTY === true,
    signal: controller.signal,
  }).finally(() => clearInterval(keepAlive))
  process.exitCode = code
  // Lingering sockets or timers of a library must not keep a finished command alive: exit once stdout is flushed.
  await new Promise<void>((resolve) => {
    if (process.stdout.writableLength === 0) resolve()
    else process.stdout.once('drain', () => resolve())
  })
  process.exit(code)
}

if (import.meta.main) await main(process.argv.slice(2))
