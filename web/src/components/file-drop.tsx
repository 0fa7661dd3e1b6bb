import { useRef, useState } from 'react'

/** Redundancy choices; each obeys the storage layer's rule (redundancyPolicy: 1 <= k < n <= 255). */
export const REDUNDANCY = [
  { label: '3 copies (replication)', k: 1, n: 3 },
  { label: '2 of 4 (erasure, 2× size)', k: 2, n: 4 },
  { label: '4 of 6 (erasure, 1.5× size)', k: 4, n: 6 },
]

/**
 * The drop zone of an upload (files dropped on it or chosen through its hidden file input) and the redundancy
 * choice: the gateway's upload box and the peer Files page share it.
 */
export function FileDrop(props: {
  hint: string
  disabled?: boolean
  choice: number
  onChoice: (choice: number) => void
  onFiles: (files: FileList) => void
}) {
  const [over, setOver] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  return (
    <>
      <button
        type="button"
        className={`dropzone ${over ? 'over' : ''}`}
        data-testid="dropzone"
        disabled={props.disabled}
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault()
          setOver(false)
          props.onFiles(e.dataTransfer.files)
        }}
        onClick={() => input.current?.click()}
      >
        {props.hint}
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        onChange={(e) => {
          if (e.target.files !== null) props.onFiles(e.target.files)
          e.target.value = ''
        }}
      />
      <label className="redundancy">
        Redundancy{' '}
        <select value={props.choice} onChange={(e) => props.onChoice(Number(e.target.value))} data-testid="redundancy">
          {REDUNDANCY.map((r, i) => (
            <option key={r.label} value={i}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
    </>
  )
}
