import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config';
import { AddressGuard } from '../../src/net/addressGuard';

const execFileP = promisify(execFile);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults with an empty environment', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.publicUrl, 'http://localhost:8080');
    assert.equal(c.role, 'all');
    assert.equal(c.dataDir, './data');
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.temporal.address, undefined);
    assert.equal(c.temporal.namespace, 'default');
    assert.equal(c.temporal.port, 7233);
    assert.equal(c.temporal.uiPort, 8233);
    assert.equal(c.adminToken, undefined);
    assert.deepEqual(c.webhook.retryScheduleMs, [30_000, 60_000, 300_000, 1_800_000, 3_600_000, 86_400_000]);
    assert.equal(c.webhook.timeoutMs, 30_000);
    assert.equal(c.webhook.disableAfter, 100);
    assert.equal(c.webhook.requireHttps, false);
    assert.deepEqual(c.webhook.allowedCidrs, []);
    assert.equal(c.chromiumPath, '/usr/bin/chromium');
    assert.equal(c.webhook.crawlerResourceType, 'crawler');
  });

  it("takes live Scrapfly's crawler resource type", () => {
    assert.equal(loadConfig({ CRAWLER_WEBHOOK_RESOURCE_TYPE: 'crawl' }).webhook.crawlerResourceType, 'crawl');
  });

  it('reads every unit of the retry schedule', () => {
    const c = loadConfig({ WEBHOOK_RETRY_SCHEDULE: '5ms, 2s,1m,1h,1d', PORT: '9000', WEBHOOK_REQUIRE_HTTPS: 'true' });
    assert.deepEqual(c.webhook.retryScheduleMs, [5, 2000, 60_000, 3_600_000, 86_400_000]);
    assert.equal(c.publicUrl, 'http://localhost:9000');
    assert.equal(c.webhook.requireHttps, true);
  });

  it('treats empty variables as unset', () => {
    assert.equal(loadConfig({ PORT: '', DATABASE_URL: '' }).port, 8080);
  });

  it('serves metrics on a port of their own only when METRICS_PORT is set', () => {
    assert.equal(loadConfig({}).metricsPort, null);
    assert.equal(loadConfig({ METRICS_PORT: '' }).metricsPort, null);
    assert.equal(loadConfig({ METRICS_PORT: '9464', ROLE: 'worker' }).metricsPort, 9464);
  });

  const bad: Array<[Record<string, string>, string, RegExp]> = [
    [{ PORT: 'eighty' }, 'PORT', /number/i],
    [{ PORT: '70000' }, 'PORT', /65535/],
    [{ METRICS_PORT: 'metrics' }, 'METRICS_PORT', /number/i],
    [{ ROLE: 'scheduler' }, 'ROLE', /api|worker|all/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres/],
    [{ TEMPORAL_ADDRESS: 'localhost' }, 'TEMPORAL_ADDRESS', /host:port/],
    [{ TEMPORAL_STORE: 'cassandra' }, 'TEMPORAL_STORE', /dev.*sqlite.*postgres/],
    [{ TEMPORAL_DATABASE_URL: 'postgres://127.0.0.1:5432' }, 'TEMPORAL_DATABASE_URL', /database name/],
    [{ TEMPORAL_STORE: 'postgres', TEMPORAL_DATABASE_URL: 'postgres://u@h/t', TEMPORAL_PORT: '40000' }, 'TEMPORAL_PORT', /at or below 32767/],
    [{ WEBHOOK_RETRY_SCHEDULE: '30s,soon' }, 'WEBHOOK_RETRY_SCHEDULE', /"soon" is not a duration/],
    [{ WEBHOOK_TIMEOUT_MS: '-1' }, 'WEBHOOK_TIMEOUT_MS', /1/],
    [{ WEBHOOK_DISABLE_AFTER: '0' }, 'WEBHOOK_DISABLE_AFTER', /1/],
    [{ WEBHOOK_REQUIRE_HTTPS: 'maybe' }, 'WEBHOOK_REQUIRE_HTTPS', /true|false/],
    [{ WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32,not a range' }, 'WEBHOOK_ALLOWED_CIDRS', /"not a range"/],
    [{ WEBHOOK_ALLOWED_CIDRS: '999.1.1.1' }, 'WEBHOOK_ALLOWED_CIDRS', /"999\.1\.1\.1".*not an IPv4 or IPv6 address/],
    [{ SCRAPE_ALLOWED_CIDRS: '10.0.0.1/8' }, 'SCRAPE_ALLOWED_CIDRS', /"10\.0\.0\.1\/8".*did you mean 10\.0\.0\.0\/8\?/],
    [{ SCRAPE_ALLOWED_CIDRS: '127.0.0.1/33' }, 'SCRAPE_ALLOWED_CIDRS', /0-32/],
    [{ SCRAPE_ALLOWED_CIDRS: 'fd00::1/8' }, 'SCRAPE_ALLOWED_CIDRS', /did you mean fd00::\/8\?/],
    [{ SCRAPE_ALLOWED_CIDRS: '127.1' }, 'SCRAPE_ALLOWED_CIDRS', /"127\.1".*not an IPv4 or IPv6 address/],
    [{ CRAWLER_WEBHOOK_RESOURCE_TYPE: 'Crawler API' }, 'CRAWLER_WEBHOOK_RESOURCE_TYPE', /lower-case token/],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN', /16/],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL', /./],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /./],
  ];
  for (const [env, name, why] of bad) {
    it(`refuses ${name}=${Object.values(env)[0]} naming the variable`, () => {
      const problems = problemsOf(env);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0]!.startsWith(`${name}: `), problems[0]);
      assert.match(problems[0]!, why);
    });
  }

  it("TEMPORAL_STORE: dev by default; postgres takes TEMPORAL_DATABASE_URL, else DATABASE_URL's server with database temporal", () => {
    const dev = loadConfig({});
    assert.equal(dev.temporal.store, 'dev');
    assert.equal(dev.temporal.databaseUrl, null);
    assert.equal(loadConfig({ TEMPORAL_STORE: 'sqlite' }).temporal.store, 'dev', 'sqlite names the same store');
    const derived = loadConfig({ TEMPORAL_STORE: 'postgres', DATABASE_URL: 'postgres://app:s%40cret@db.internal:6432/hookshot?sslmode=require' });
    assert.equal(derived.temporal.store, 'postgres');
    assert.equal(derived.temporal.databaseUrl, 'postgres://app:s%40cret@db.internal:6432/temporal?sslmode=require');
    const explicit = loadConfig({
      TEMPORAL_STORE: 'postgres',
      DATABASE_URL: 'postgres://a@h/hookshot',
      TEMPORAL_DATABASE_URL: 'postgresql://t@h2:5433/tstore',
    });
    assert.equal(explicit.temporal.databaseUrl, 'postgresql://t@h2:5433/tstore');
    // Alone: the embedded PGlite cannot serve Temporal, so the machine's PostgreSQL on its standard port.
    assert.equal(loadConfig({ TEMPORAL_STORE: 'postgres' }).temporal.databaseUrl, 'postgres://postgres@127.0.0.1:5432/temporal');
    // An external Temporal: nothing is started, so no store is needed.
    assert.equal(loadConfig({ TEMPORAL_STORE: 'postgres', TEMPORAL_ADDRESS: 'temporal:7233' }).temporal.address, 'temporal:7233');
    assert.equal(derived.temporal.uiUrl, 'http://localhost:8233', "the UI Hookshot starts is the dashboard's link target");
  });

  it('parses the allow-lists into ranges, IPv6 included; a bare address is one host', () => {
    const c = loadConfig({ SCRAPE_ALLOWED_CIDRS: '::1, fd00::/8 ,2001:db8:0:0::/64', WEBHOOK_ALLOWED_CIDRS: '127.0.0.2' });
    assert.deepEqual(
      c.scrape.allowedCidrs.map((r) => r.text),
      ['::1/128', 'fd00::/8', '2001:db8::/64'],
    );
    assert.deepEqual(
      c.scrape.allowedCidrs.map((r) => r.family),
      [6, 6, 6],
    );
    assert.deepEqual(
      c.webhook.allowedCidrs.map((r) => [r.text, r.prefix]),
      [['127.0.0.2/32', 32]],
    );
    const scrape = new AddressGuard(c.scrape.allowedCidrs);
    for (const ip of ['::1', 'fd12::5', '2001:db8::1']) assert.deepEqual(scrape.check(ip), { allowed: true }, ip);
    for (const ip of ['127.0.0.1', 'fe80::1', '2001:db8:0:1::1']) assert.equal(scrape.check(ip).allowed, false, ip);
    const webhook = new AddressGuard(c.webhook.allowedCidrs);
    assert.deepEqual(webhook.check('127.0.0.2'), { allowed: true });
    assert.equal(webhook.check('127.0.0.3').allowed, false);
  });

  it('names every bad allow-list entry', () => {
    const problems = problemsOf({ WEBHOOK_ALLOWED_CIDRS: '999.1.1.1, 127.0.0.1/32, 10.0.0.1/8' });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(
      problems.every((p) => p.startsWith('WEBHOOK_ALLOWED_CIDRS: ')),
      problems.join('\n'),
    );
    assert.match(problems.join('\n'), /"999\.1\.1\.1"[\s\S]*"10\.0\.0\.1\/8"/);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'x', ROLE: 'y' });
    assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), ['PORT', 'ROLE']);
  });

  it('stops the process with exit code 2 and the variable name', async () => {
    const main = path.join(__dirname, '..', '..', 'src', 'main.js');
    const err = await execFileP(process.execPath, [main], {
      env: { PATH: process.env.PATH, ROLE: 'nope', WEBHOOK_TIMEOUT_MS: 'abc' },
      timeout: 20_000,
    }).then(
      () => assert.fail('main.js should have exited non-zero'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2);
    assert.match(err.stderr, /invalid configuration/);
    assert.match(err.stderr, /ROLE: /);
    assert.match(err.stderr, /WEBHOOK_TIMEOUT_MS: /);
  });

  it('a bad allow-list stops an API-only process too, before it connects to anything', async () => {
    const main = path.join(__dirname, '..', '..', 'src', 'main.js');
    // Unreachable loopback servers: if the value got through, boot would fail later with another code.
    const err = await execFileP(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        ROLE: 'api',
        WEBHOOK_ALLOWED_CIDRS: '10.0.0.1/8',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        LOG_LEVEL: 'silent',
      },
      timeout: 20_000,
    }).then(
      () => assert.fail('main.js should have exited non-zero'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, err.stderr);
    assert.match(err.stderr, /WEBHOOK_ALLOWED_CIDRS: .*did you mean 10\.0\.0\.0\/8/);
  });
});
