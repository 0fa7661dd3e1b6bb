/** A small SVG line chart (no chart library): one or more series over the same x values. */
export interface Series {
  name: string
  color: string
  values: number[]
}

export function LineChart({ xs, series, height = 180 }: { xs: number[]; series: Series[]; height?: number }) {
  const width = 560
  const pad = 36
  // scaled to the data (a devnet's amounts are tiny), 1 when there is none
  const max = Math.max(0, ...series.flatMap((s) => s.values)) || 1
  const x = (i: number): number => pad + (xs.length <= 1 ? 0 : (i * (width - 2 * pad)) / (xs.length - 1))
  const y = (v: number): number => height - pad + 8 - (v / max) * (height - pad - 16)
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label="chart">
      <line x1={pad} y1={height - pad + 8} x2={width - pad} y2={height - pad + 8} className="axis" />
      <line x1={pad} y1={8} x2={pad} y2={height - pad + 8} className="axis" />
      <text x={4} y={14} className="tick">
        {max >= 0.01 ? max.toLocaleString(undefined, { maximumFractionDigits: 2 }) : max.toPrecision(2)}
      </text>
      <text x={4} y={height - pad + 8} className="tick">
        0
      </text>
      {xs.length > 0 ? (
        <>
          <text x={pad} y={height - 8} className="tick">
            {xs[0]}
          </text>
          <text x={width - pad - 20} y={height - 8} className="tick">
            {xs.at(-1)}
          </text>
        </>
      ) : null}
      {series.map((s) => (
        <polyline
          key={s.name}
          fill="none"
          stroke={s.color}
          strokeWidth={2}
          points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}
        />
      ))}
      {series.map((s, i) => (
        <text key={s.name} x={width - pad - 150} y={20 + i * 16} style={{ fill: s.color }} className="legend">
          ■ {s.name}
        </text>
      ))}
    </svg>
  )
}
