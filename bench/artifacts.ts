// A crawler's WARC and HAR built from BENCH_ARTIFACT_PAGES (2,000) stored
// captures of BENCH_ARTIFACT_BODY_BYTES (20 KB, random so gzip cannot shrink
// them) each: build time, size, and how much the process's memory grew while
// streaming them (heap and Buffers, measured right after a forced collection
// every 200 chunks, so garbage not yet collected does not count): a few
// reads' worth of rows when the artifact streams, against the ~40 MB of
// bodies a build held whole would keep.
// Part of `npm run bench`; `node dist/bench/artifacts.js` runs it alone.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { createProject } from '../src/db/repositories/projects';
import { streamCrawlArtifact, type ArtifactType } from '../src/artifacts';
import { insertFinishedCrawler, seedCapturedPages } from '../test/helpers/crawlerCaptures';

const PAGES = Number(process.env.BENCH_ARTIFACT_PAGES ?? 2000);
const BODY_BYTES = Number(process.env.BENCH_ARTIFACT_BODY_BYTES ?? 20 * 1024);

const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

/** The collector, without `node --expose-gc` (the bench runs plain `node`). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export async function measureArtifacts(o: { dbUrl: string }) {
  const db = createPool(o.dbUrl, 4);
  try {
    const project = await createProject(db, { name: `artifacts-${randomBytes(3).toString('hex')}`, plan: 'PRO' });
    const crawlId = await insertFinishedCrawler(db, project.id);
    const t0 = performance.now();
    await seedCapturedPages(db, crawlId, PAGES, BODY_BYTES);
    await db.query('ANALYZE crawl_page_captures');
    const seedSeconds = (performance.now() - t0) / 1000;
    const { rows } = await db.query<{ bytes: string }>('SELECT sum(octet_length(body))::text AS bytes FROM crawl_page_captures WHERE crawl_id = $1', [
      crawlId,
    ]);
    const gc = collector();
    const build = async (type: ArtifactType) => {
      // Timed alone first, then built again with the collections that measure memory.
      let bytes = 0;
      const t = performance.now();
      await pipeline(
        streamCrawlArtifact(db, crawlId, type).stream,
        new Writable({
          write(chunk: Buffer, _enc, done) {
            bytes += chunk.length;
            done();
          },
        }),
      );
      const seconds = (performance.now() - t) / 1000;
      gc();
      const base = process.memoryUsage();
      let heap = 0;
      let buffers = 0;
      let chunks = 0;
      await pipeline(
        streamCrawlArtifact(db, crawlId, type).stream,
        new Writable({
          write(_chunk: Buffer, _enc, done) {
            if (++chunks % 200 === 0) {
              gc();
              const m = process.memoryUsage();
              heap = Math.max(heap, m.heapUsed - base.heapUsed);
              buffers = Math.max(buffers, m.arrayBuffers - base.arrayBuffers);
            }
            done();
          },
        }),
      );
      return {
        seconds: Math.round(seconds * 100) / 100,
        bytes,
        mb_per_second: Math.round((bytes / 1024 / 1024 / seconds) * 10) / 10,
        retained_heap_growth_mb: mb(heap),
        retained_buffers_growth_mb: mb(buffers),
      };
    };
    return {
      pages: PAGES,
      body_bytes: BODY_BYTES,
      stored_body_mb: mb(Number(rows[0]?.bytes ?? 0)),
      seed_seconds: Math.round(seedSeconds * 10) / 10,
      warc: await build('warc'),
      har: await build('har'),
    };
  } finally {
    await db.end();
  }
}

// Alone: its own database (no Temporal, no Hookshot: the artifact reads PostgreSQL only).
if (require.main === module) {
  (async () => {
    const ADMIN_DB = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const dbName = `hookshot_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_DB });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const dbUrl = Object.assign(new URL(ADMIN_DB), { pathname: `/${dbName}` }).toString();
    try {
      const setup = createPool(dbUrl, 2);
      await migrate(setup);
      await setup.end();
      console.log(JSON.stringify({ crawler_artifacts: await measureArtifacts({ dbUrl }) }, null, 2));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
