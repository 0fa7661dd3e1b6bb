import { useState } from 'react'

export function TokenForm({ wrong, onToken }: { wrong: boolean; onToken: (token: string) => void }) {
  const [value, setValue] = useState('')
  return (
    <div className="token-form">
      <h1>
        <span className="logo">▲</span> Cairn
      </h1>
      <p>
        {wrong ? 'That token was refused. ' : ''}Open the dashboard link that <code>npm start</code> printed, or paste
        the gateway token (file <code>api-token</code> in the gateway's data folder, e.g.{' '}
        <code>.cairn-devnet/gateway/api-token</code>).
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault()
          if (value.trim() !== '') onToken(value.trim())
        }}
      >
        <input aria-label="token" value={value} onChange={(e) => setValue(e.target.value)} placeholder="token" />
        <button type="submit">Open</button>
      </form>
      <p className="muted">
        No gateway? <a href="#/peer">Use this page as a peer</a>: it stores and reads files straight from the nodes of a
        network file.
      </p>
    </div>
  )
}
