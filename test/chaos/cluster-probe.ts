/**
 * A probe the partitions scenario runs inside a namespace of the cluster (the chain and the nodes' control APIs are
 * reachable only there): prints one JSON line.
 *
 *   node test/chaos/cluster-probe.ts epoch RPC_URL MARKET     -> {"epoch":N,"now":UNIX_SECONDS,"genesis":..,"epochSeconds":..}
 *   node test/chaos/cluster-probe.ts missed RPC_URL MARKET    -> [{"node":"0x..","epoch":N,"slashed":"..."}]
 *   node test/chaos/cluster-probe.ts metrics API_URL PREFIX   -> {"series{labels}":VALUE} of the /metrics lines with PREFIX
 *   node test/chaos/cluster-probe.ts get API_URL PATH         -> the JSON the control API answered
 */

const [command, target, arg] = process.argv.slice(2)

async function main(): Promise<unknown> {
  if (command === 'epoch' || command === 'missed') {
    // Loaded only here: the control API probes start faster without them.
    const { createPublicClient, http } = await import('viem')
    const { marketAbi } = await import('../../src/chain/index.ts')
    const client = createPublicClient({ transport: http(target) })
    const market = arg as `0x${string}`
    if (command === 'epoch') {
      const [genesis, epochSeconds, block] = await Promise.all([
        client.readContract({ address: market, abi: marketAbi, functionName: 'genesis' }),
        client.readContract({ address: market, abi: marketAbi, functionName: 'epochSeconds' }),
        client.getBlock({ blockTag: 'latest' }),
      ])
      const now = Number(block.timestamp)
      return {
        epoch: Math.floor((now - Number(genesis)) / Number(epochSeconds)),
        now,
        genesis: Number(genesis),
        epochSeconds: Number(epochSeconds),
      }
    }
    const logs = await client.getContractEvents({
      address: market,
      abi: marketAbi,
      eventName: 'ProofMissed',
      fromBlock: 0n,
    })
    return logs.map((l) => ({
      node: l.args.node!.toLowerCase(),
      epoch: Number(l.args.epoch!),
      slashed: String(l.args.slashed!),
    }))
  }
  if (command === 'metrics') {
    const text = await (await fetch(`${target}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
    const series: Record<string, number> = {}
    for (const line of text.split('\n')) {
      if (arg !== undefined && line.startsWith(arg))
        series[line.slice(0, line.lastIndexOf(' '))] = Number(line.split(' ').at(-1))
    }
    return series
  }
  if (command === 'get') return await (await fetch(`${target}${arg}`, { signal: AbortSignal.timeout(5_000) })).json()
  throw new Error(`unknown probe ${command}: epoch, missed, metrics or get`)
}

process.stdout.write(`${JSON.stringify(await main())}\n`)
