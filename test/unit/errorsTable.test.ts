import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError, ERROR_CODES, errorInfo, UNKNOWN_CODE } from '../../src/errors';
import { repoRoot } from '../../src/repoRoot';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the error table', () => {
  const root = repoRoot();
  const files = ['src', 'activities', 'workflows'].flatMap((d) => sources(path.join(root, d)));

  it('has every code the code base writes', () => {
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/'(ERR::[A-Z_]+::[A-Z_]+)'/g)) used.add(m[1]!);
      // Captures build ERR::SCRAPE::<NAME> / ERR::SCREENSHOT::<NAME> from these names.
      if (/src\/capture\//.test(f)) {
        for (const m of text.matchAll(/(?:fail|new CaptureError)\('([A-Z_]+)'/g)) {
          used.add(`ERR::SCRAPE::${m[1]}`);
          used.add(`ERR::SCREENSHOT::${m[1]}`);
        }
      }
    }
    assert.ok(used.size > 30, `found only ${used.size} codes: the scan is broken`);
    const missing = [...used].filter((c) => !Object.hasOwn(ERROR_CODES, c)).sort();
    assert.deepEqual(missing, [], 'codes used but not in src/errors.ts');
  });

  it('gives each code an HTTP error status', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^ERR::[A-Z_]+::[A-Z_]+$/);
      assert.ok(info.http >= 400 && info.http <= 599, code);
    }
  });

  it('answers a capture its target failed with a 4xx: a 5xx only for a failure of the worker itself', () => {
    // The Scrapfly SDKs send every 5xx again (submitting the job again) and then lose the code.
    const captures = Object.entries(ERROR_CODES).filter(([code]) => /^ERR::(SCRAPE|SCREENSHOT)::/.test(code));
    const serverSide = captures.filter(([, info]) => info.http >= 500).map(([code]) => code);
    assert.deepEqual(serverSide.sort(), ['ERR::SCRAPE::FAILED', 'ERR::SCREENSHOT::FAILED']);
    for (const code of ['ERR::SCRAPE::NETWORK', 'ERR::SCRAPE::TIMEOUT', 'ERR::SCREENSHOT::NETWORK', 'ERR::SCREENSHOT::TIMEOUT'] as const) {
      assert.deepEqual(ERROR_CODES[code], { http: 422, retryable: true }, code);
    }
  });

  it('answers any stored string without throwing, with a safe default for unknown ones', () => {
    assert.deepEqual(errorInfo('ERR::WEBHOOK::QUEUE_FULL'), { http: 429, retryable: true });
    for (const odd of ['ERR::LEGACY::GONE', '', 'constructor', '__proto__', 'toString']) {
      assert.equal(errorInfo(odd), UNKNOWN_CODE, odd);
    }
    const e = AppError.stored('ERR::LEGACY::GONE', 'old');
    assert.deepEqual([e.code, e.httpCode, e.retryable], ['ERR::LEGACY::GONE', 500, false]);
    const known = AppError.stored('ERR::SCREENSHOT::TIMEOUT', 'slow');
    assert.deepEqual([known.httpCode, known.retryable], [422, true]);
  });
});
