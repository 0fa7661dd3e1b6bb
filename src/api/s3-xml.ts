/**
 * The XML documents of the S3 REST API that Cairn speaks: answers it writes and the two request bodies it reads
 * (CompleteMultipartUpload, Delete). The request bodies have a fixed flat shape, read with anchored patterns.
 */

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

export function unescapeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-fA-F]+);/g, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

type XmlValue = string | number | boolean | undefined | XmlElement | XmlElement[]
interface XmlElement {
  [name: string]: XmlValue
}

function render(name: string, value: XmlValue): string {
  if (value === undefined) return ''
  if (Array.isArray(value)) return value.map((v) => render(name, v)).join('')
  if (typeof value === 'object') {
    const inner = Object.entries(value)
      .map(([k, v]) => render(k, v))
      .join('')
    return `<${name}>${inner}</${name}>`
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`
}

/**
 * A whole S3 document with the S3 namespace on its root.
 *
 * @example
 * ```ts
 * xmlDocument('InitiateMultipartUploadResult', { Bucket: 'b', Key: 'k', UploadId: id })
 * ```
 */
export function xmlDocument(root: string, body: XmlElement): string {
  const inner = Object.entries(body)
    .map(([k, v]) => render(k, v))
    .join('')
  return `${DECLARATION}<${root} xmlns="${S3_NS}">${inner}</${root}>`
}

/** The `<Error>` document S3 clients parse (no namespace, as S3 sends it). */
export function xmlError(code: string, message: string, extra: Record<string, string | undefined> = {}): string {
  const fields = Object.entries({ Code: code, Message: message, ...extra })
    .map(([k, v]) => render(k, v))
    .join('')
  return `${DECLARATION}<Error>${fields}</Error>`
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString()
}

function elements(xml: string, name: string): string[] {
  const found: string[] = []
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g')
  for (const match of xml.matchAll(pattern)) found.push(match[1] ?? '')
  return found
}

function text(xml: string, name: string): string | undefined {
  const [first] = elements(xml, name)
  return first === undefined ? undefined : unescapeXml(first.trim())
}

/** Parts listed in a CompleteMultipartUpload body; undefined when the document is malformed. */
export function parseCompleteMultipart(xml: string): Array<{ partNumber: number; etag: string }> | undefined {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) return undefined
  const parts: Array<{ partNumber: number; etag: string }> = []
  for (const part of elements(xml, 'Part')) {
    const partNumber = Number(text(part, 'PartNumber'))
    const etag = text(part, 'ETag')
    if (!Number.isInteger(partNumber) || etag === undefined) return undefined
    parts.push({ partNumber, etag: etag.replace(/^"|"$/g, '') })
  }
  return parts
}

/** Keys of a DeleteObjects (`POST ?delete`) body and its Quiet flag; undefined when malformed. */
export function parseDeleteObjects(xml: string): { keys: string[]; quiet: boolean } | undefined {
  if (!/<Delete[\s>]/.test(xml)) return undefined
  const keys: string[] = []
  for (const object of elements(xml, 'Object')) {
    const key = text(object, 'Key')
    if (key === undefined) return undefined
    keys.push(key)
  }
  return { keys, quiet: text(xml, 'Quiet') === 'true' }
}
