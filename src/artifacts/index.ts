// A finished crawler's artifact (GET /crawl/:uuid/artifact?type=warc|har),
// built from its stored captures while it is sent: the captures are read a
// page of rows at a time (keyset on page_id, bounded by rows and by body
// bytes), the next read running while the current rows are written, and the
// stream pulls from the database only as fast as its reader takes the bytes.
// Whoever serves it checks first that the crawl exists, is the caller's and
// has finished; a crawl that vanished meanwhile ends the stream with an error.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Db } from '../db/pool';
import type { Crawl, CrawlPageCapture } from '../db/rows';
import { getCrawl } from '../db/repositories/crawls';
import { listCaptureSummaries, listCrawlCaptures, type CaptureRead } from '../db/repositories/crawlCaptures';
import { repoRoot } from '../repoRoot';
import { harChunks } from './har';
import { warcGzipRecords, type WarcInfo } from './warc';

export type ArtifactType = 'warc' | 'har';

export interface CrawlArtifact {
  contentType: string;
  filename: string;
  stream: Readable;
}

export interface ArtifactOptions extends CaptureRead {
  /** Told of every read of captures (the rows it returned): the streaming test counts them. */
  onRead?: (rows: readonly CrawlPageCapture[]) => void;
}

/** Bytes the stream buffers before it stops pulling (a record or entry may exceed it on its own). */
const HIGH_WATER_MARK = 256 * 1024;
const SUMMARY_ROWS = 1000;

let version: string | undefined;
function softwareVersion(): string {
  version ??= (JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

export function streamCrawlArtifact(db: Db, crawlId: string, type: ArtifactType, options: ArtifactOptions = {}): CrawlArtifact {
  const chunks = type === 'warc' ? warcChunks(db, crawlId, options) : harStream(db, crawlId, options);
  return {
    contentType: type === 'warc' ? 'application/gzip' : 'application/json',
    filename: type === 'warc' ? 'crawl.warc.gz' : 'crawl.har',
    stream: Readable.from(chunks, { objectMode: false, highWaterMark: HIGH_WATER_MARK }),
  };
}

async function crawlOf(db: Db, crawlId: string): Promise<Crawl> {
  const crawl = await getCrawl(db, crawlId);
  if (!crawl) throw new Error(`crawl ${crawlId} not found`);
  return crawl;
}

async function* warcChunks(db: Db, crawlId: string, options: ArtifactOptions): AsyncGenerator<Buffer> {
  const crawl = await crawlOf(db, crawlId);
  const info: WarcInfo = {
    crawlId,
    software: `Hookshot/${softwareVersion()}`,
    date: crawl.completed_at ?? crawl.updated_at,
    filename: 'crawl.warc.gz',
    seedUrl: crawl.options.crawler?.seedUrl ?? crawl.url,
    userAgent: crawl.options.userAgent ?? null,
    robots: crawl.options.ignoreRobotsTxt ? 'ignore' : 'obey',
  };
  yield* warcGzipRecords(info, captures(db, crawlId, options));
}

async function* harStream(db: Db, crawlId: string, options: ArtifactOptions): AsyncGenerator<Buffer> {
  await crawlOf(db, crawlId);
  const creator = { name: 'Hookshot', version: softwareVersion(), comment: `crawler ${crawlId}` };
  yield* harChunks(creator, summaries(db, crawlId), captures(db, crawlId, options));
}

/**
 * The crawl's captures in page_id order, a read at a time; the next read is
 * started as soon as one returns, so the database works while the caller
 * compresses and writes (two reads' rows in memory at most).
 */
async function* captures(db: Db, crawlId: string, options: ArtifactOptions): AsyncGenerator<CrawlPageCapture> {
  const read = async (after: number) => {
    const rows = await listCrawlCaptures(db, crawlId, after, options);
    options.onRead?.(rows);
    return rows;
  };
  let next = read(0);
  try {
    for (;;) {
      const rows = await next;
      const last = rows.at(-1);
      if (!last) return;
      next = read(last.page_id);
      yield* rows;
    }
  } finally {
    // Stopped early (the reader went away): the read in flight is not wanted.
    next.catch(() => undefined);
  }
}

async function* summaries(db: Db, crawlId: string): AsyncGenerator<Pick<CrawlPageCapture, 'page_id' | 'final_url' | 'fetched_at'>> {
  for (let after = 0; ;) {
    const rows = await listCaptureSummaries(db, crawlId, after, SUMMARY_ROWS);
    yield* rows;
    const last = rows.at(-1);
    if (!last || rows.length < SUMMARY_ROWS) return;
    after = last.page_id;
  }
}
