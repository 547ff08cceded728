/**
 * Raw email → comment, as `predict-raw-emails` does it: headers raw or parsed, body plain or HTML,
 * and the user properties the platform generates from the email (which conflict with uploaded
 * ones → 422).
 */
import type { WireMessage } from './reinfer-model.js';

export interface RawEmail {
  body?: { plain?: string; html?: string };
  headers?: { raw?: string; parsed?: Record<string, string | string[]> };
}

export interface ParsedComment {
  id: string;
  timestamp: string;
  messages: WireMessage[];
  user_properties: Record<string, string | number>;
}

/** Parse one raw email, or return the problem (a message for a 400). */
export function parseRawEmail(email: unknown): ParsedComment | string {
  if (!email || typeof email !== 'object') return 'raw_email is required (an object with headers and body)';
  const raw = email as RawEmail;
  const headers = readHeaders(raw.headers);
  if (typeof headers === 'string') return headers;
  const plain = raw.body?.plain;
  const html = raw.body?.html;
  if (typeof plain !== 'string' && typeof html !== 'string') return 'raw_email.body needs "plain" or "html" text';
  const text = typeof plain === 'string' ? plain : htmlToText(html as string);
  const { body, signature } = splitSignature(text);
  const date = headers.date ? Date.parse(headers.date) : NaN;
  const timestamp = Number.isNaN(date) ? new Date(0).toISOString() : new Date(date).toISOString();
  const from = headers.from ?? '';
  const message: WireMessage = {
    body: { text: body },
    subject: { text: headers.subject ?? '' },
    from,
    to: (headers.to ?? '').split(',').map((a) => a.trim()).filter(Boolean),
    sent_at: timestamp,
  };
  if (signature) message.signature = { text: signature };
  const domain = /@([^>\s]+)/.exec(from)?.[1]?.toLowerCase();
  const generated: Record<string, string | number> = {};
  if (domain) generated['string:Sender Domain'] = domain;
  if (headers.references) generated['number:Thread Length'] = headers.references.split(/\s+/).filter(Boolean).length + 1;
  return {
    id: (headers['message-id'] ?? '').replace(/^<|>$/g, ''),
    timestamp,
    messages: [message],
    user_properties: generated,
  };
}

/** Lower-cased header name → value, from `parsed` or from the `raw` header block. */
function readHeaders(headers: RawEmail['headers']): Record<string, string> | string {
  if (!headers || typeof headers !== 'object') return 'raw_email.headers is required ("raw" or "parsed")';
  const out: Record<string, string> = {};
  if (headers.parsed && typeof headers.parsed === 'object') {
    for (const [name, value] of Object.entries(headers.parsed)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    return out;
  }
  if (typeof headers.raw === 'string') {
    let last: string | undefined;
    for (const line of headers.raw.split(/\r?\n/)) {
      if (/^[ \t]/.test(line) && last) {
        out[last] += ` ${line.trim()}`; // folded continuation line (RFC 5322 §2.2.3)
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      out[last] = line.slice(colon + 1).trim();
    }
    return out;
  }
  return 'raw_email.headers needs "raw" (a string) or "parsed" (an object)';
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Plain text of an HTML body: paragraphs and <br> become line breaks, tags go, entities decode. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h\d)>/gi, '\n\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#\d+|#x[0-9a-f]+|\w+);/gi, (whole, name: string) => {
      if (name[0] === '#') return String.fromCodePoint(name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Split a closing like "Thanks,\nAlice" from the body, as the platform does. */
function splitSignature(text: string): { body: string; signature?: string } {
  const match = /\n\n((?:thanks|regards|best|cheers|kind regards|sincerely)[^\n]*\n[^\n]*)\s*$/i.exec(text);
  if (!match) return { body: text };
  return { body: text.slice(0, match.index).trim(), signature: match[1].trim() };
}
