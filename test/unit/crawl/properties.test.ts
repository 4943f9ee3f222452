// Properties of the crawl building blocks over generated input: normalization
// is idempotent and stays printable ASCII (which the pattern cost model relies
// on), compiled patterns answer exactly as the user's RegExp does, and every
// pattern the compiler accepts stays fast on adversarial subjects.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalUrl } from '../../../src/crawl/urls';
import { compilePattern, MAX_SUBJECT_CHARS, testPattern } from '../../../src/crawl/pattern';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_240_601;

// URL-ish text: real URLs with odd parts spliced in.
const urlText = fc
  .tuple(
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.constantFrom('', '/../x', '/./', '%7e', '%2F', '?b=1&a=2&&', '#f', ':80', 'é', ' ', '//', '\t'),
  )
  .map(([u, extra]) => u + extra);

describe('normalization properties', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(urlText, (u) => {
        const once = canonicalUrl(u);
        if (once === null) return;
        assert.equal(canonicalUrl(once), once);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('yields printable ASCII without fragment, credentials or default port', () => {
    fc.assert(
      fc.property(urlText, (u) => {
        const n = canonicalUrl(u);
        if (n === null) return;
        assert.match(n, /^https?:\/\/[\x21-\x7e]+$/);
        assert.ok(!n.includes('#'), n);
        const p = new URL(n);
        assert.equal(p.username + p.password, '');
        assert.equal(n.startsWith(`${p.protocol}//${p.host}`), true);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

// Patterns from the pieces people combine, quantified at random.
const atom = fc.constantFrom('a', 'b', '/', '.', '[a-z]', '[^/]', '\\w', '\\d', '[ab]', 'ab', '-', '\\/', 'x');
const quant = fc.constantFrom('', '', '', '*', '+', '?', '{2,5}', '{0,40}', '*?', '+?');
const piece: fc.Arbitrary<string> = fc.letrec((tie) => ({
  piece: fc.oneof(
    { weight: 5, arbitrary: fc.tuple(atom, quant).map(([a, q]) => a + q) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(tie('piece') as fc.Arbitrary<string>, { minLength: 1, maxLength: 3 }), quant)
        .map(([xs, q]) => `(?:${xs.join('')})${q}`),
    },
  ),
})).piece;
const pattern = fc
  .tuple(fc.boolean(), fc.array(piece, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([start, xs, end]) => `${start ? '^' : ''}${xs.join('')}${end ? '$' : ''}`);
const subject = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);

describe('pattern properties', () => {
  it('answers exactly as the pattern as written', () => {
    fc.assert(
      fc.property(pattern, fc.array(subject, { maxLength: 8 }), (p, subjects) => {
        const r = compilePattern(p);
        if (!r.ok) return;
        const plain = new RegExp(p);
        for (const s of subjects) assert.equal(testPattern(r.pattern, s), plain.test(s), `${p} on ${s}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('runs every accepted pattern quickly on adversarial subjects', () => {
    const subjects = ['a', 'b', '/', '1', 'ab', 'a/', 'a1', 'aab', 'x-'].map((c) => c.repeat(MAX_SUBJECT_CHARS).slice(0, MAX_SUBJECT_CHARS));
    let slowest = 0;
    fc.assert(
      fc.property(pattern, (p) => {
        const r = compilePattern(p);
        if (!r.ok) return;
        for (const s of subjects) {
          const t0 = process.hrtime.bigint();
          testPattern(r.pattern, s);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          slowest = Math.max(slowest, ms);
          // Generous for slow CI machines: the budget aims at single-digit ms.
          assert.ok(ms < 250, `${p} took ${ms.toFixed(1)} ms on ${s.slice(0, 6)}…`);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(slowest < 250);
  });
});
