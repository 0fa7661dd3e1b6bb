import { useCallback } from 'react'
import type { ApiClient } from '../../../src/api/api-client.ts'
import type { BankEpoch, DealInfo } from '../../../src/api/interface.ts'
import { LineChart } from '../components/line-chart.tsx'
import { formatBytes, formatTokens, redundancyLabel, shortId } from '../format.ts'
import { type LiveEvent, usePolling } from '../use-events.ts'

/** A chain-backed gateway adds the protocol fees burned (per epoch, in total and per deal); older ones do not. */

/** A token amount in whole tokens, for the chart (a double keeps 15 digits: plenty for a line). */
function whole(amount: string, decimals: number): number {
  return Number(amount) / 10 ** decimals
}

export function BankPage({ api, events }: { api: ApiClient; events: LiveEvent[] }) {
  const lastMoney = events.find((e) => e.type === 'payment' || e.type === 'proof:submitted')?.id
  const loadWallet = useCallback((signal: AbortSignal) => api.wallet({ signal }), [api])
  const loadDeals = useCallback((signal: AbortSignal) => api.deals({ signal }), [api])
  const loadBank = useCallback((signal: AbortSignal) => api.bank({ signal }), [api])
  const wallet = usePolling(loadWallet, 5000, lastMoney)
  const deals = usePolling(loadDeals, 5000, lastMoney)
  const bank = usePolling(loadBank, 5000, lastMoney)
  const decimals = wallet.data?.decimals ?? 18
  const history: BankEpoch[] = bank.data?.history ?? []
  const totalBurned = bank.data?.totalBurned
  return (
    <section>
      <h2>Wallet</h2>
      {wallet.data !== undefined ? (
        <dl className="wallet" data-testid="wallet">
          <dt>address</dt>
          <dd>{wallet.data.address}</dd>
          <dt>balance</dt>
          <dd>{formatTokens(wallet.data.balance, decimals, wallet.data.symbol)}</dd>
          <dt>in escrow</dt>
          <dd>{formatTokens(wallet.data.escrowLocked, decimals, wallet.data.symbol)}</dd>
        </dl>
      ) : (
        <p className="muted" data-testid="wallet">
          {wallet.error?.message ?? 'loading…'}
        </p>
      )}
      <h2>Bank: rewards minted, fees burned and payments</h2>
      {bank.data !== undefined ? (
        <>
          <p className="summary">
            epoch {bank.data.epoch} · minted {formatTokens(bank.data.totalMinted, decimals)}
            {totalBurned === undefined ? null : ` · burned ${formatTokens(totalBurned, decimals)}`} · paid{' '}
            {formatTokens(bank.data.totalPaid, decimals)}
          </p>
          <p className="muted">
            Each proof burns a protocol fee on top of its payment; an epoch's rewards mint at most half the fees it
            burned.
          </p>
          <LineChart
            xs={history.map((h) => h.epoch)}
            series={[
              { name: 'minted per epoch', color: '#4ea1ff', values: history.map((h) => whole(h.minted, decimals)) },
              ...(totalBurned === undefined
                ? []
                : [
                    {
                      name: 'burned per epoch',
                      color: '#e5484d',
                      values: history.map((h) => whole(h.burned, decimals)),
                    },
                  ]),
              { name: 'paid per epoch', color: '#f5a524', values: history.map((h) => whole(h.paid, decimals)) },
            ]}
          />
        </>
      ) : (
        <p className="muted">{bank.error?.message ?? 'loading…'}</p>
      )}
      <h2>Deals</h2>
      <table className="deals" data-testid="deals">
        <thead>
          <tr>
            <th>deal</th>
            <th>file</th>
            <th>size</th>
            <th>redundancy</th>
            <th>escrow</th>
            <th>paid</th>
            <th>fees burned</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {(deals.data ?? []).map((deal: DealInfo) => (
            <tr key={deal.id}>
              <td>{shortId(deal.id)}</td>
              <td>{shortId(deal.manifest)}</td>
              <td>{formatBytes(deal.size)}</td>
              <td>{redundancyLabel(deal.k, deal.n)}</td>
              <td>{formatTokens(deal.escrow, decimals)}</td>
              <td>{formatTokens(deal.paid, decimals)}</td>
              <td>{formatTokens(deal.burned, decimals)}</td>
              <td>{deal.status ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {deals.data?.length === 0 ? (
        <p className="muted">No deals yet (deals appear once the chain is connected).</p>
      ) : null}
    </section>
  )
}
