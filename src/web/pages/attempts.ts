// One delivery attempt as every dashboard page shows it (webhook history,
// job page, crawl events): a one-line summary, then <details> with the
// request headers, the response snippet and the payload. Everything the
// receiver or the caller controls (snippet, payload, headers, URLs) goes
// through the escaping template; payloads are shown as text, never markup.
import { brotliDecompressSync, constants, gunzipSync, inflateSync } from 'node:zlib';
import { decode as msgpackDecode } from '@msgpack/msgpack';
import type { AttemptView, PayloadView } from '../../db/repositories/dashboard';
import type { DashboardSession } from '../../db/rows';
import { html, type Html } from '../html';
import { postButton, time } from '../layout';

/** Text shown of one payload; a bigger one is cut with a note (the stored bytes stay whole). */
const SHOW_CHARS = 256 * 1024;
/** Decompressed bytes read back for display: a bound even on bytes we produced. */
const INFLATE_MAX = 8 * 1024 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

export const isShownImage = (contentType: string) => IMAGE_TYPES.has(contentType.split(';')[0].trim().toLowerCase());

export const bytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The bytes as the receiver reads them: decompressed. A truncated stream
 * decompresses as far as it goes (sync flush instead of the end check).
 */
export function decompress(body: Buffer, encoding: string, partial: boolean): Buffer {
  const opts = { maxOutputLength: INFLATE_MAX, ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}) };
  switch (encoding) {
    case 'gzip':
      return gunzipSync(body, opts);
    case 'deflate':
      return inflateSync(body, opts);
    case 'br':
      return brotliDecompressSync(body, { maxOutputLength: INFLATE_MAX, ...(partial ? { finishFlush: constants.BROTLI_OPERATION_FLUSH } : {}) });
    default:
      return body;
  }
}

/** A payload as readable text: JSON pretty-printed, msgpack decoded to JSON, anything else as UTF-8. */
export function payloadText(p: Pick<PayloadView, 'content_type' | 'content_encoding' | 'truncated'> & { body: Buffer }): {
  text: string;
  note: string | null;
} {
  let raw: Buffer;
  try {
    raw = decompress(p.body, p.content_encoding, p.truncated);
  } catch (err) {
    return { text: p.body.toString('utf8'), note: `could not decompress (${(err as Error).message}); shown as stored` };
  }
  const type = p.content_type.split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return { text: JSON.stringify(JSON.parse(raw.toString('utf8')), null, 2), note: null };
    } catch {
      return { text: raw.toString('utf8'), note: p.truncated ? 'truncated, so shown as stored text' : 'not valid JSON; shown as text' };
    }
  }
  if (type === 'application/msgpack') {
    try {
      return {
        text: JSON.stringify(msgpackDecode(raw), (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v), 2),
        note: 'msgpack, decoded and shown as JSON',
      };
    } catch {
      return { text: raw.toString('hex'), note: 'msgpack that could not be decoded; shown as hex' };
    }
  }
  return { text: raw.toString('utf8'), note: null };
}

const clip = (text: string): { text: string; clipped: boolean } =>
  text.length > SHOW_CHARS ? { text: text.slice(0, SHOW_CHARS), clipped: true } : { text, clipped: false };

/** The payload block: a thumbnail for images (served by its own route), text for the rest. */
export function payloadBlock(attemptId: number, p: PayloadView | null, eventBody?: Buffer | null): Html {
  if (eventBody) {
    const shown = clip(payloadText({ content_type: 'application/json', content_encoding: 'identity', truncated: false, body: eventBody }).text);
    return html`<details class="payload"><summary>Payload <span class="muted">(the event's stored body, application/json, ${bytes(eventBody.length)})</span></summary>
<pre class="payload-text" tabindex="0">${shown.text}</pre>${shown.clipped ? html`<p class="muted">Showing the first ${bytes(SHOW_CHARS)} of text.</p>` : ''}</details>`;
  }
  if (!p)
    return html`<p class="muted payload-none">Payload: not stored (nothing was sent, it was sent before payloads were kept, or it is past its retention).</p>`;
  const facts = html`${p.content_type}${p.content_encoding !== 'identity' ? html`, sent ${p.content_encoding}-compressed` : ''}, ${bytes(p.size_bytes)}${
    p.truncated ? html`, <strong>truncated</strong>: the first ${bytes(p.stored_bytes)} were kept` : ''
  }`;
  if (isShownImage(p.content_type)) {
    return html`<details class="payload" open><summary>Payload <span class="muted">(${facts})</span></summary>
<a href="/dashboard/attempts/${attemptId}/payload"><img class="thumb" src="/dashboard/attempts/${attemptId}/payload" alt="Screenshot sent in attempt ${attemptId}"></a></details>`;
  }
  if (!p.body) return html`<p class="muted">Payload: ${facts}</p>`;
  const { text, note } = payloadText({ ...p, body: p.body });
  const shown = clip(text);
  return html`<details class="payload"><summary>Payload <span class="muted">(${facts})</span></summary>
${note ? html`<p class="muted">${note}</p>` : ''}<pre class="payload-text" tabindex="0">${shown.text}</pre>${shown.clipped ? html`<p class="muted">Showing the first ${bytes(SHOW_CHARS)} of text.</p>` : ''}</details>`;
}

const headerLines = (h: Record<string, string> | null | undefined): string =>
  Object.entries(h ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');

export interface AttemptListOptions {
  session: DashboardSession;
  /** Link each attempt to its job's page (history); the job page itself does not. */
  jobLinks: boolean;
  /** Where a replay's redirect comes back to ('webhook': the history page). */
  replayFrom: 'webhook' | 'job' | null;
  /** A crawl event's stored body: the payload of all its attempts. */
  eventBody?: Buffer | null;
}

/** A status cell: HTTP code, or the kind of failure when there was no answer. */
function outcome(a: AttemptView): Html {
  const label =
    a.status_code !== null ? `HTTP ${a.status_code}` : a.error_code && NOTHING_SENT.has(a.error_code) ? 'not sent' : a.error_code ? 'no answer' : '—';
  return html`<span class="${a.success ? 'ok' : 'bad'}">${a.success ? 'delivered' : 'failed'}</span> <span class="code">${label}</span>`;
}

// Attempts that end a series before sending (the webhook was disabled or
// deleted): no request left, so there are no headers, answer or payload to show.
const NOTHING_SENT = new Set(['ERR::WEBHOOK::DISABLED', 'ERR::WEBHOOK::NOT_FOUND']);

export function attemptItem(a: AttemptView, o: AttemptListOptions): Html {
  const sent = !(a.status_code === null && a.error_code !== null && NOTHING_SENT.has(a.error_code));
  return html`<li class="attempt ${a.success ? 'attempt-ok' : 'attempt-bad'}" id="attempt-${a.id}">
<div class="attempt-line">
  ${time(a.started_at)}
  <span class="outcome">${outcome(a)}</span>
  <span class="muted">${a.duration_ms} ms</span>
  <span>series ${a.series} · attempt ${a.attempt}</span>
  ${o.jobLinks && a.job_id ? html`<a href="/dashboard/jobs/${a.job_id}">job ${a.job_id.slice(0, 8)}…</a>` : ''}
  ${o.replayFrom && a.job_id ? postButton(`/dashboard/jobs/${a.job_id}/replay`, o.session, 'Replay', 'link', { from: o.replayFrom }) : ''}
</div>
${a.error_code ? html`<p class="attempt-error"><code>${a.error_code}</code> ${a.error_message ?? ''}</p>` : ''}
${
  sent
    ? html`<p class="attempt-url muted">POST ${a.url}${a.final_url && a.final_url !== a.url ? html` → ${a.final_url}` : ''}</p>
<details class="req"><summary>Request headers <span class="muted">(secrets redacted)</span></summary><pre tabindex="0">${headerLines(a.request_headers)}</pre></details>
<details class="res"><summary>Response${a.response_snippet ? html` <span class="muted">(${bytes(Buffer.byteLength(a.response_snippet))} kept)</span>` : ''}</summary>
${a.response_headers ? html`<pre tabindex="0">${headerLines(a.response_headers)}</pre>` : ''}<pre class="response-snippet" tabindex="0">${a.response_snippet ?? ''}</pre></details>
${o.eventBody !== undefined ? '' : payloadBlock(a.id, a.payload)}`
    : html`<p class="muted">Nothing was sent.</p>`
}
</li>`;
}

export function attemptList(rows: readonly AttemptView[], o: AttemptListOptions): Html {
  if (rows.length === 0) return html`<p class="muted">No delivery attempts yet.</p>`;
  return html`<ol class="attempts">${rows.map((a) => attemptItem(a, o))}</ol>`;
}
