import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config';

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

  const bad: Array<[Record<string, string>, string, RegExp]> = [
    [{ PORT: 'eighty' }, 'PORT', /number/i],
    [{ PORT: '70000' }, 'PORT', /65535/],
    [{ ROLE: 'scheduler' }, 'ROLE', /api|worker|all/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres/],
    [{ TEMPORAL_ADDRESS: 'localhost' }, 'TEMPORAL_ADDRESS', /host:port/],
    [{ WEBHOOK_RETRY_SCHEDULE: '30s,soon' }, 'WEBHOOK_RETRY_SCHEDULE', /"soon" is not a duration/],
    [{ WEBHOOK_TIMEOUT_MS: '-1' }, 'WEBHOOK_TIMEOUT_MS', /1/],
    [{ WEBHOOK_DISABLE_AFTER: '0' }, 'WEBHOOK_DISABLE_AFTER', /1/],
    [{ WEBHOOK_REQUIRE_HTTPS: 'maybe' }, 'WEBHOOK_REQUIRE_HTTPS', /true|false/],
    [{ WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32,not a range' }, 'WEBHOOK_ALLOWED_CIDRS', /"not a range"/],
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
});
