// The dashboard's delivery history of a webhook with 10,000 attempts (and
// their payloads), inserted directly in SQL: GET /dashboard/webhooks/:name
// signed in, the first page and a deep page (keyset cursor near the oldest),
// p50/p95 over BENCH_HISTORY_REQUESTS sequential requests each. Aim: < 200 ms.
// Part of `npm run bench`; `node dist/bench/history.js` runs it alone.
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startHookshot } from '../src/runtime';
import { resolveTemporalCli, startDevServer } from '../src/temporalServer/devServer';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { bootstrapDefaultProject } from '../src/db/repositories/projects';

const ATTEMPTS = Number(process.env.BENCH_HISTORY_ATTEMPTS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_HISTORY_REQUESTS ?? 20);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 10) / 10;
};

/** Signs in through the login form (its CSRF cookie, then the session cookie). */
async function signIn(apiUrl: string, key: string): Promise<string> {
  const form = await fetch(`${apiUrl}/dashboard/login`);
  const loginCookie = form.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${apiUrl}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ key, _csrf: csrf, next: '/dashboard' }).toString(),
    redirect: 'manual',
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('hookshot_session='));
  if (res.status !== 303 || !session) throw new Error(`sign-in failed: HTTP ${res.status}`);
  return session.split(';')[0]!;
}

export async function measureHistoryPage(o: { apiUrl: string; dbUrl: string; key: string }) {
  const db = new pg.Client({ connectionString: o.dbUrl });
  await db.connect();
  const name = `history-${randomBytes(3).toString('hex')}`;
  try {
    const create = await fetch(`${o.apiUrl}/webhooks?key=${o.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, url: 'http://127.0.0.1:9/hook' }),
    });
    const { uuid: webhookId } = (await create.json()) as { uuid: string };
    const {
      rows: [w],
    } = await db.query<{ project_id: string }>('SELECT project_id FROM webhooks WHERE id = $1', [webhookId]);
    // Ten attempts a job (nine failures, then a success), each with a ~2 KB JSON payload.
    const t0 = performance.now();
    await db.query(
      `INSERT INTO jobs (id, project_id, env, kind, webhook_id, webhook_name, status, delivery_status, params)
       SELECT gen_random_uuid(), $1, 'live', 'scrape', $2, $3, 'delivered', 'delivered', '{"url":"http://example.test/"}'::jsonb
         FROM generate_series(1, $4::int)`,
      [w!.project_id, webhookId, name, Math.ceil(ATTEMPTS / 10)],
    );
    await db.query(
      `INSERT INTO delivery_attempts (job_id, webhook_id, series, attempt, started_at, duration_ms, url, success, status_code,
         error_code, error_message, request_headers, response_headers, response_snippet)
       SELECT j.id, $1, 0, a, now() - make_interval(secs => a), 12, 'http://127.0.0.1:9/hook', a = 10, CASE WHEN a = 10 THEN 200 ELSE 500 END,
              CASE WHEN a = 10 THEN NULL ELSE 'ERR::WEBHOOK::ENDPOINT_ERROR' END, CASE WHEN a = 10 THEN NULL ELSE 'endpoint answered HTTP 500' END,
              '{"content-type":"application/json","x-scrapfly-webhook-secret":"[redacted]","user-agent":"Hookshot-Webhook/0.1"}'::jsonb,
              '{"content-type":"text/plain"}'::jsonb, repeat('<p>error page</p>', 20)
         FROM (SELECT id FROM jobs WHERE webhook_id = $1) j CROSS JOIN generate_series(1, 10) a`,
      [webhookId],
    );
    await db.query(
      `INSERT INTO attempt_payloads (attempt_id, content_type, body, size_bytes)
       SELECT id, 'application/json', b, octet_length(b)
         FROM (SELECT id, convert_to(json_build_object('config', json_build_object('url', 'http://example.test/'), 'result',
                 json_build_object('content', repeat('lorem ipsum ', 160), 'status_code', 200), 'uuid', job_id)::text, 'UTF8') AS b
                 FROM delivery_attempts WHERE webhook_id = $1) x`,
      [webhookId],
    );
    await db.query('ANALYZE delivery_attempts; ANALYZE attempt_payloads; ANALYZE jobs');
    const seeded = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_attempts WHERE webhook_id = $1', [webhookId])).rows[0]!.n;
    const seedSeconds = (performance.now() - t0) / 1000;
    const {
      rows: [deep],
    } = await db.query<{ id: string }>('SELECT id FROM delivery_attempts WHERE webhook_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1', [
      webhookId,
      Math.max(0, seeded - 40),
    ]);

    const cookie = await signIn(o.apiUrl, o.key);
    const time = async (path: string) => {
      const lat: number[] = [];
      let bytes = 0;
      for (let i = 0; i < REQUESTS + 2; i++) {
        const s = performance.now();
        const res = await fetch(`${o.apiUrl}${path}`, { headers: { cookie } });
        const text = await res.text();
        if (res.status !== 200 || !text.includes('class="attempts"')) throw new Error(`${path}: HTTP ${res.status}`);
        // The first two warm the connection and the plan cache.
        if (i >= 2) lat.push(performance.now() - s);
        bytes = text.length;
      }
      return { p50_ms: pct(lat, 50), p95_ms: pct(lat, 95), requests: lat.length, page_bytes: bytes };
    };
    const base = `/dashboard/webhooks/${name}`;
    return {
      attempts: seeded,
      seed_seconds: Math.round(seedSeconds * 10) / 10,
      first_page: await time(base),
      deep_page: { before_id: Number(deep!.id), ...(await time(`${base}?before=${deep!.id}`)) },
    };
  } finally {
    await db.end();
  }
}

// Alone: its own Temporal dev server, database and Hookshot.
if (require.main === module) {
  (async () => {
    const ADMIN_DB = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const dbName = `hookshot_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_DB });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const dbUrl = Object.assign(new URL(ADMIN_DB), { pathname: `/${dbName}` }).toString();
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const dev = await startDevServer({
      cliPath: await resolveTemporalCli(process.env.TEMPORAL_CLI),
      port,
      uiPort: port + 1,
      namespace: 'default',
      headless: true,
    });
    try {
      const setup = createPool(dbUrl, 2);
      await migrate(setup);
      const keys = (await bootstrapDefaultProject(setup))!;
      await setup.end();
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: dbUrl,
        TEMPORAL_ADDRESS: dev.address,
        LOG_LEVEL: 'warn',
        TEMPORAL_TASK_QUEUE: `bench-${randomBytes(3).toString('hex')}`,
      });
      const hs = await startHookshot(config, createLogger('warn'));
      try {
        console.log(JSON.stringify({ dashboard_history: await measureHistoryPage({ apiUrl: hs.apiUrl!, dbUrl, key: keys.live }) }, null, 2));
      } finally {
        await hs.stop();
      }
    } finally {
      await dev.stop();
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
