// The crawler's WARC and HAR, built from captures stored in a real
// PostgreSQL and read back with warcio (webrecorder's reader, the one
// Scrapfly's SDK recommends), with a framing check of our own beside it, and
// the HAR read a line at a time as Scrapfly's helpers read it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { WARCParser } from 'warcio';
import { migrate } from '../../src/db/migrate';
import { createProject } from '../../src/db/repositories/projects';
import { listCrawlCaptures } from '../../src/db/repositories/crawlCaptures';
import type { CrawlPageCapture } from '../../src/db/rows';
import { streamCrawlArtifact } from '../../src/artifacts';
import { base32 } from '../../src/artifacts/warc';
import { freshDatabase, type TestDatabase } from '../helpers/env';
import { addCapturedPage, insertFinishedCrawler, seedCapturedPages, type NewCapture } from '../helpers/crawlerCaptures';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Our own reading of an uncompressed WARC: every record's header lines and block, with the framing checked exactly. */
function splitWarc(raw: Buffer): Array<{ headers: Map<string, string>; block: Buffer }> {
  const out: Array<{ headers: Map<string, string>; block: Buffer }> = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    assert.ok(end > at, `record at ${at} has a header block`);
    const lines = raw.subarray(at, end).toString('utf8').split('\r\n');
    assert.equal(lines[0], 'WARC/1.0');
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(': ');
      assert.ok(i > 0, `header line ${JSON.stringify(l)}`);
      headers.set(l.slice(0, i), l.slice(i + 2));
    }
    const length = Number(headers.get('Content-Length'));
    assert.ok(Number.isInteger(length), 'Content-Length');
    const blockAt = end + 4;
    out.push({ headers, block: raw.subarray(blockAt, blockAt + length) });
    assert.equal(raw.subarray(blockAt + length, blockAt + length + 4).toString('latin1'), '\r\n\r\n', 'a record ends with CRLF CRLF');
    at = blockAt + length + 4;
  }
  return out;
}

const sha1 = (b: Uint8Array) => `sha1:${base32(createHash('sha1').update(b).digest())}`;

describe('crawler artifacts (WARC, HAR)', () => {
  let d: TestDatabase;
  let projectId: string;
  before(async () => {
    d = await freshDatabase();
    await migrate(d.pool);
    projectId = (await createProject(d.pool, { name: 'artifacts', plan: 'PRO' })).id;
  });
  after(async () => {
    await d.drop();
  });

  const fetchedAt = new Date('2026-03-04T05:00:01.250Z');
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]), randomBytes(300)]);
  const unicode = 'héllo wörld — 日本語 🎉\nline two\n';
  const pages: NewCapture[] = [
    {
      fetched_at: fetchedAt,
      duration_ms: 42,
      url: 'https://crawl.example/',
      final_url: 'https://crawl.example/',
      request_headers: { 'user-agent': 'HookshotTest/1.0', accept: 'text/html', 'accept-encoding': 'gzip, br' },
      status_code: 200,
      status_text: 'OK',
      response_headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': '61', server: 'test' },
      body: Buffer.from('<!doctype html><html><head><title>Home</title></head></html>\n'),
    },
    {
      fetched_at: fetchedAt,
      duration_ms: 7,
      url: 'https://crawl.example/gz',
      final_url: 'https://crawl.example/gz',
      request_headers: { 'user-agent': 'HookshotTest/1.0', 'accept-encoding': 'gzip' },
      status_code: 200,
      status_text: 'OK',
      // As received: gzip on the wire, chunked, and a length that was the compressed one.
      response_headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked', 'Content-Length': '999' },
      body: Buffer.from('stored decoded, never gzip\n'.repeat(20)),
    },
    {
      fetched_at: fetchedAt,
      duration_ms: 3,
      url: 'https://crawl.example/logo.png',
      final_url: 'https://crawl.example/logo.png',
      request_headers: { 'user-agent': 'HookshotTest/1.0' },
      status_code: 200,
      status_text: '',
      response_headers: { 'content-type': 'image/png', 'x-latin': 'caf\u00e9' },
      body: png,
    },
    {
      fetched_at: fetchedAt,
      duration_ms: 5,
      url: 'https://crawl.example/missing',
      final_url: 'https://crawl.example/missing',
      request_headers: { 'user-agent': 'HookshotTest/1.0' },
      status_code: 404,
      status_text: '',
      response_headers: { 'content-type': 'text/html' },
      body: Buffer.from('<h1>not here</h1>'),
    },
    {
      fetched_at: fetchedAt,
      duration_ms: 9,
      url: 'https://crawl.example/old?x=1',
      final_url: 'https://crawl.example/new?q=caf%C3%A9&x=1',
      request_headers: { 'user-agent': 'HookshotTest/1.0', host: 'crawl.example' },
      status_code: 200,
      status_text: 'OK',
      response_headers: { 'content-type': 'text/plain; charset=utf-8', 'set-cookie': 'a=1; Path=/\nb=2; Path=/' },
      body: Buffer.from(unicode, 'utf8'),
    },
  ];

  let crawlId: string;
  let stored: CrawlPageCapture[];
  before(async () => {
    crawlId = await insertFinishedCrawler(d.pool, projectId);
    stored = [];
    for (const p of pages) stored.push(await addCapturedPage(d.pool, crawlId, p));
  });

  it('WARC: gzip members a record each, warcinfo first, then request and response per page, as warcio reads them', async () => {
    const artifact = streamCrawlArtifact(d.pool, crawlId, 'warc');
    assert.equal(artifact.contentType, 'application/gzip');
    assert.equal(artifact.filename, 'crawl.warc.gz');
    const gz = await collect(artifact.stream);
    assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b]);

    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    const records: Array<{
      type: string;
      uri: string | null | undefined;
      id: string;
      headers: Map<string, string>;
      http: any;
      payload: Buffer;
      content: Buffer;
    }> = [];
    const members: Array<{ offset: number; length: number }> = [];
    try {
      const parser = new WARCParser([gz]);
      for await (const r of parser) {
        const payload = Buffer.from(await r.readFully(false));
        members.push({ offset: parser.offset, length: parser.recordLength });
        const headers = new Map<string, string>([...r.warcHeaders.headers].map(([k, v]) => [k.toLowerCase(), v]));
        records.push({
          type: r.warcType,
          uri: r.warcTargetURI,
          id: r.warcHeader('WARC-Record-ID') ?? '',
          headers,
          http: r.httpHeaders,
          payload,
          content: Buffer.from(await r.readFully(true)),
        });
      }
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, [], 'warcio found every record exactly where Content-Length said');

    assert.deepEqual(
      records.map((r) => r.type),
      ['warcinfo', ...pages.flatMap(() => ['request', 'response'])],
    );
    // One gzip member per record, back to back.
    let expectAt = 0;
    for (const [i, m] of members.entries()) {
      assert.equal(m.offset, expectAt, `record ${i} starts where the previous member ended`);
      const one = gunzipSync(gz.subarray(m.offset, m.offset + m.length));
      assert.equal(splitWarc(one).length, 1, `member ${i} holds one record`);
      expectAt += m.length;
    }
    assert.equal(expectAt, gz.length);

    const [info, ...rest] = records;
    assert.equal(info!.headers.get('content-type'), 'application/warc-fields');
    assert.equal(info!.headers.get('warc-date'), '2026-03-04T05:06:07Z');
    const fields = info!.payload.toString('utf8');
    assert.match(fields, /^software: Hookshot\/\d+\.\d+\.\d+\r\n/);
    assert.match(fields, /\r\nformat: WARC File Format 1\.0\r\n/);
    assert.ok(fields.includes(`\r\ncrawler-uuid: ${crawlId}\r\n`));
    assert.ok(fields.includes('\r\nseed-url: https://crawl.example/\r\n'));
    assert.ok(fields.includes('\r\nhttp-header-user-agent: HookshotTest/1.0\r\n'));

    for (const [i, p] of stored.entries()) {
      const req = rest[2 * i]!;
      const res = rest[2 * i + 1]!;
      for (const r of [req, res]) {
        assert.equal(r.uri, p.final_url);
        assert.equal(r.headers.get('warc-date'), '2026-03-04T05:00:01Z');
        assert.equal(r.headers.get('warc-warcinfo-id'), info!.id);
        assert.match(r.id, /^<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>$/);
      }
      assert.equal(req.headers.get('content-type'), 'application/http; msgtype=request');
      assert.equal(res.headers.get('content-type'), 'application/http; msgtype=response');
      assert.equal(req.headers.get('warc-concurrent-to'), res.id);
      const u = new URL(p.final_url);
      assert.equal(req.http.statusline, `GET ${u.pathname}${u.search} HTTP/1.1`);
      assert.equal(req.http.headers.get('host'), 'crawl.example');
      assert.equal(req.http.headers.get('user-agent'), 'HookshotTest/1.0');
      assert.equal(req.payload.length, 0);

      // Bodies byte for byte, decoded and raw alike: the headers no longer claim an encoding.
      assert.ok(res.payload.equals(p.body), `${p.url}: raw payload`);
      assert.ok(res.content.equals(p.body), `${p.url}: decoded content`);
      assert.equal(res.http.headers.get('content-length'), String(p.body.length));
      assert.equal(res.http.headers.get('content-encoding'), null);
      assert.equal(res.http.headers.get('transfer-encoding'), null);
      assert.equal(res.headers.get('warc-payload-digest'), sha1(p.body));
    }
    assert.equal(rest[1]!.http.statusline, 'HTTP/1.1 200 OK');
    assert.equal(rest[5]!.http.statusline, 'HTTP/1.1 200 OK', 'an empty reason gets the standard one');
    assert.equal(rest[7]!.http.statusline, 'HTTP/1.1 404 Not Found');
    assert.equal(rest[7]!.http.statusCode, 404);
    assert.equal(rest[9]!.content.toString('utf8'), unicode);
  });

  it('WARC framing: Content-Length in bytes, no blank line in a header block, headers on one line each, digests', async () => {
    const raw = gunzipSync(await collect(streamCrawlArtifact(d.pool, crawlId, 'warc').stream));
    const records = splitWarc(raw);
    assert.equal(records.length, 1 + 2 * pages.length);
    for (const r of records) {
      for (const name of ['WARC-Type', 'WARC-Record-ID', 'WARC-Date', 'Content-Type', 'Content-Length']) assert.ok(r.headers.has(name), name);
      assert.equal(r.headers.get('WARC-Block-Digest'), sha1(r.block));
    }
    // The response of the binary page: its latin1 header value is one byte, the body follows the blank line.
    const png = records[6]!;
    assert.equal(png.headers.get('WARC-Type'), 'response');
    assert.ok(png.block.includes(Buffer.from('x-latin: caf\xe9\r\n', 'latin1')));
    const bodyAt = png.block.indexOf('\r\n\r\n') + 4;
    assert.ok(png.block.subarray(bodyAt).equals(stored[2]!.body));
    // Multi-line values became one header each.
    const cookies = records[10]!.block.toString('utf8');
    assert.ok(cookies.includes('\r\nset-cookie: a=1; Path=/\r\nset-cookie: b=2; Path=/\r\n'), cookies);
    assert.equal(records[9]!.block.toString('utf8').match(/^host:/gim)?.length, 1, 'one Host header');
    // Non-ASCII body: Content-Length counts bytes, not characters.
    assert.equal(Number(records[10]!.headers.get('Content-Length')), records[10]!.block.length);
    assert.ok(Buffer.byteLength(unicode) > unicode.length);

    // The same crawl gives the same bytes.
    const again = gunzipSync(await collect(streamCrawlArtifact(d.pool, crawlId, 'warc').stream));
    assert.ok(again.equals(raw));
  });

  it('HAR: the log line, then one HAR 1.2 entry a line, bodies as text or base64', async () => {
    const artifact = streamCrawlArtifact(d.pool, crawlId, 'har');
    assert.equal(artifact.contentType, 'application/json');
    assert.equal(artifact.filename, 'crawl.har');
    const text = (await collect(artifact.stream)).toString('utf8');
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n');
    assert.equal(lines.length, 1 + pages.length);
    const head = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(head), ['log']);
    assert.equal(head.log.version, '1.2');
    assert.equal(head.log.creator.name, 'Hookshot');
    assert.deepEqual(head.log.entries, []);
    assert.ok(!('error_id' in head) && !('http_code' in head));
    assert.deepEqual(
      head.log.pages.map((p: any) => p.title),
      stored.map((p) => p.final_url),
    );

    const entries = lines.slice(1).map((l) => JSON.parse(l));
    for (const [i, e] of entries.entries()) {
      const p = stored[i]!;
      assert.equal(e.pageref, head.log.pages[i].id);
      assert.equal(e.startedDateTime, '2026-03-04T05:00:01.250Z');
      assert.equal(e.time, p.duration_ms);
      assert.equal(e.request.method, 'GET');
      assert.equal(e.request.url, p.final_url);
      assert.equal(e.request.httpVersion, 'HTTP/1.1');
      assert.deepEqual(e.request.headers[0], { name: 'Host', value: 'crawl.example' });
      assert.equal(e.response.status, p.status_code);
      assert.equal(e.response.content.size, p.body.length);
      const body =
        e.response.content.encoding === 'base64' ? Buffer.from(e.response.content.text, 'base64') : Buffer.from(e.response.content.text, 'utf8');
      assert.ok(body.equals(p.body), `${p.url}: body`);
      for (const k of ['cookies', 'headers', 'redirectURL', 'headersSize', 'bodySize']) assert.ok(k in e.response, k);
      for (const k of ['send', 'wait', 'receive']) assert.equal(typeof e.timings[k], 'number');
    }
    assert.equal(entries[0].response.content.encoding, undefined, 'HTML as text');
    assert.equal(entries[2].response.content.encoding, 'base64', 'PNG as base64');
    assert.equal(entries[2].response.statusText, 'OK');
    assert.equal(entries[3].response.statusText, 'Not Found');
    assert.equal(entries[4].response.content.text, unicode);
    // A HAR keeps the headers as received (the content is the decoded body, as browsers' HARs have it).
    assert.ok(entries[1].response.headers.some((h: any) => h.name === 'content-encoding' && h.value === 'gzip'));
    assert.deepEqual(entries[4].request.queryString, [
      { name: 'q', value: 'café' },
      { name: 'x', value: '1' },
    ]);
    assert.equal(entries[4]._requestedUrl, 'https://crawl.example/old?x=1');
    assert.equal(entries[0]._requestedUrl, undefined);
  });

  it('a crawl with no capture: the warcinfo alone, and a HAR that is one JSON document', async () => {
    const empty = await insertFinishedCrawler(d.pool, projectId);
    const warc = splitWarc(gunzipSync(await collect(streamCrawlArtifact(d.pool, empty, 'warc').stream)));
    assert.deepEqual(
      warc.map((r) => r.headers.get('WARC-Type')),
      ['warcinfo'],
    );
    const har = JSON.parse((await collect(streamCrawlArtifact(d.pool, empty, 'har').stream)).toString('utf8'));
    assert.deepEqual(har.log.pages, []);
    assert.deepEqual(har.log.entries, []);
  });

  it('an unknown crawl ends the stream with an error', async () => {
    await assert.rejects(collect(streamCrawlArtifact(d.pool, '00000000-0000-4000-8000-000000000000', 'warc').stream), /not found/);
  });

  it('reads captures by keyset, bounded by rows and by body bytes', async () => {
    const big = await insertFinishedCrawler(d.pool, projectId);
    await seedCapturedPages(d.pool, big, 12, 20 * 1024);
    const all = await listCrawlCaptures(d.pool, big, 0, { rows: 100 });
    assert.equal(all.length, 12);
    assert.ok(all.every((c, i) => i === 0 || c.page_id > all[i - 1]!.page_id));
    assert.ok(all.every((c) => c.body.length === 20 * 1024));
    // 50 KB of bodies: a read stops after the row that reaches it.
    const first = await listCrawlCaptures(d.pool, big, 0, { rows: 100, bytes: 50 * 1024 });
    assert.deepEqual(
      first.map((c) => c.page_id),
      all.slice(0, 3).map((c) => c.page_id),
    );
    // A body larger than the bound still comes back, alone.
    assert.equal((await listCrawlCaptures(d.pool, big, 0, { rows: 100, bytes: 1 })).length, 1);
    const next = await listCrawlCaptures(d.pool, big, first.at(-1)!.page_id, { rows: 4 });
    assert.deepEqual(
      next.map((c) => c.page_id),
      all.slice(3, 7).map((c) => c.page_id),
    );
    assert.deepEqual(await listCrawlCaptures(d.pool, big, all.at(-1)!.page_id), []);
  });

  it('streams a page of rows at a time, and stops reading while its reader does not read', async () => {
    const big = await insertFinishedCrawler(d.pool, projectId);
    const n = 80;
    await seedCapturedPages(d.pool, big, n, 20 * 1024);
    for (const type of ['warc', 'har'] as const) {
      const reads: number[] = [];
      const { stream } = streamCrawlArtifact(d.pool, big, type, { rows: 4, onRead: (rows) => reads.push(rows.length) });
      // Take one chunk, then leave the stream alone until it has filled its buffer.
      await new Promise<void>((resolve) => stream.once('readable', () => resolve()));
      assert.ok(stream.read() !== null);
      for (let i = 0; i < 500 && stream.readableLength < stream.readableHighWaterMark; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(stream.readableLength >= stream.readableHighWaterMark, `${type}: the buffer filled`);
      await new Promise((r) => setTimeout(r, 100));
      const whilePaused = reads.length;
      // 80 pages of 20 KB are 1.6 MB, 20 reads; the buffer holds a quarter of that at most.
      assert.ok(whilePaused <= 8, `${type}: ${whilePaused} reads while nobody read`);
      const rest = await collect(stream);
      assert.ok(rest.length > 0);
      assert.deepEqual(reads, [...Array(n / 4).fill(4), 0], `${type}: every read a page of rows, then the empty one`);
    }
  });
});
