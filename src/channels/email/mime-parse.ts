/**
 * Just enough MIME to show a captured email (pure): headers with RFC 2047 encoded words, and the
 * text and HTML bodies of a (nested) multipart message in base64, quoted-printable, 7bit or 8bit.
 * `mailparser` is not a dependency and this is all the mail capture needs; attachments are skipped.
 * Bodies are handled as latin1 strings, one char per byte, so nothing is decoded before its charset is known.
 */

export interface ParsedMessage {
  /** Lower-case header names; the first occurrence of each, unfolded and decoded. */
  headers: Map<string, string>;
  text: string | null;
  html: string | null;
}

const MAX_DEPTH = 10;

export function parseMessage(raw: Buffer): ParsedMessage {
  const part = splitPart(raw.toString('latin1'));
  const headers = new Map<string, string>();
  // Raw 8-bit header bytes are UTF-8 (RFC 6532); nodemailer itself sends encoded words.
  for (const [name, value] of part.headers) headers.set(name, decodeWords(latin1ToUtf8(value)));
  const bodies: { text: string | null; html: string | null } = { text: null, html: null };
  collectBodies(part, bodies, 0);
  return { headers, ...bodies };
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

function splitPart(source: string): Part {
  const match = /\r?\n\r?\n/.exec(source);
  const head = match ? source.slice(0, match.index) : source;
  const body = match ? source.slice(match.index + match[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function collectBodies(part: Part, out: { text: string | null; html: string | null }, depth: number): void {
  const type = parseParams(part.headers.get('content-type') ?? 'text/plain');
  if (type.value.startsWith('multipart/') && type.params.boundary && depth < MAX_DEPTH) {
    for (const child of splitMultipart(part.body, type.params.boundary)) {
      collectBodies(splitPart(child), out, depth + 1);
    }
    return;
  }
  if (parseParams(part.headers.get('content-disposition') ?? 'inline').value === 'attachment') return;
  const key = type.value === 'text/html' ? 'html' : type.value === 'text/plain' ? 'text' : null;
  if (!key || out[key] !== null) return;
  const bytes = decodeTransfer(part.body, part.headers.get('content-transfer-encoding'));
  // MIME lines end in CRLF on the wire; the text as written had plain newlines.
  out[key] = decodeBytes(bytes, type.params.charset ?? 'utf-8').replace(/\r\n/g, '\n');
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let current: string[] | null = null; // null until the first delimiter: the preamble is ignored
  for (const line of body.split(/\r?\n/)) {
    if (line.startsWith(delimiter)) {
      if (current) parts.push(current.join('\r\n'));
      if (line.slice(delimiter.length).startsWith('--')) return parts;
      current = [];
    } else {
      current?.push(line);
    }
  }
  if (current) parts.push(current.join('\r\n'));
  return parts;
}

/** `text/plain; charset="utf-8"` → { value: 'text/plain', params: { charset: 'utf-8' } }. */
function parseParams(header: string): { value: string; params: Record<string, string> } {
  const [value = '', ...rest] = header.split(';');
  const params: Record<string, string> = {};
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq === -1) continue;
    const raw = param.slice(eq + 1).trim();
    params[param.slice(0, eq).trim().toLowerCase()] = raw.replace(/^"(.*)"$/, '$1');
  }
  return { value: value.trim().toLowerCase(), params };
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return Buffer.from(decodeQuotedPrintable(body), 'latin1');
    default:
      return Buffer.from(body.replace(/(\r?\n)+$/, ''), 'latin1');
  }
}

function decodeQuotedPrintable(body: string): string {
  // Trailing whitespace on a line is transport padding (RFC 2045 §6.7), `=` at the end a soft break.
  return decodeHexEscapes(body.replace(/[ \t]+(?=\r?\n|$)/g, '').replace(/=\r?\n/g, '')).replace(
    /(\r?\n)+$/,
    '',
  );
}

function decodeHexEscapes(value: string): string {
  return value.replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function latin1ToUtf8(value: string): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    // An unknown charset label: show the bytes as UTF-8 rather than nothing.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`). Adjacent words are joined before decoding
 * because an encoder may split one multi-byte character across two words.
 */
export function decodeWords(value: string): string {
  // Whitespace between two encoded words is folding, not content (RFC 2047 §6.2).
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  let out = '';
  let last = 0;
  let pendingCharset: string | null = null;
  let pendingBytes: Buffer[] = [];
  const flush = () => {
    if (pendingCharset) out += decodeBytes(Buffer.concat(pendingBytes), pendingCharset);
    pendingCharset = null;
    pendingBytes = [];
  };
  for (const m of joined.matchAll(ENCODED_WORD)) {
    const [word, rawCharset = 'utf-8', encoding = 'B', data = ''] = m;
    // RFC 2231 allows a language suffix: UTF-8*en.
    const charset = rawCharset.split('*')[0]?.toLowerCase() ?? 'utf-8';
    if (m.index > last || pendingCharset !== charset) {
      flush();
      out += joined.slice(last, m.index);
    }
    pendingCharset = charset;
    pendingBytes.push(
      encoding.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(decodeHexEscapes(data.replaceAll('_', ' ')), 'latin1'),
    );
    last = m.index + word.length;
  }
  flush();
  return out + joined.slice(last);
}
