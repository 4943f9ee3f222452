// User-supplied path filters (includePaths / excludePaths), compiled so that
// matching one URL has a bounded cost.
//
// Firecrawl runs these patterns on Rust's regex crate (an RE2-style engine:
// linear time, no look-around, no backreferences). JavaScript's RegExp
// backtracks: `(a+)+$` is exponential, and even `.*a.*a.*b` takes seconds on a
// 500-character path, in the worker's event loop (or in a workflow task).
// Without a linear engine, safety comes from three limits, all checked when
// the crawl is created so a bad pattern is a 400 and never a stuck worker:
//
// 1. Constructs that RE2 rejects anyway are rejected: backreferences and
//    look-around. No pattern Firecrawl accepts is lost by this.
// 2. A repeated group (`(...)+`, `(...)*`, `(...){2,}`) whose body has its own
//    choices (a quantifier or an alternation) is rejected: that is the shape
//    of every exponential case.
// 3. What is left backtracks at most polynomially: roughly, each quantifier
//    that can trade characters with what follows it multiplies the work by
//    the number of lengths it can take, and an unanchored pattern is tried at
//    every start position. Subjects are cut at MAX_SUBJECT_CHARS (URLs past
//    2,048 characters are outside the sitemap protocol anyway), which makes
//    that worst case a number (see workOfItem); patterns over COST_BUDGET are
//    rejected. A quantifier whose characters cannot start what follows it
//    (`[^/]+/`) never backtracks into a second choice and costs only its scan.
//    `.*foo.*bar`, `^/docs/.*$`, `blog/.*` pass; `.*a.*b.*c` does not.
//
// Measured on Node 20 with adversarial 2,048-character subjects (and a fuzz of
// random patterns), V8's compiled regexps run 4 to 35 of these steps per
// microsecond: a pattern at COST_BUDGET costs at most about 8 ms per URL. The
// first run of each pattern is interpreted before V8 tiers it up and can be
// five times slower. All the patterns of a crawl together stay under
// TOTAL_COST_BUDGET, eight times as much.
//
// No Node import: workflow code may compile scopes.
//
// Scrapfly's crawler writes its path filters as `*` wildcards instead
// (compileWildcard, at the end of this file): those are matched without any
// regular expression, in linear time.
import { normalizePercentEncoding } from './urls';

/** Characters of a path (or URL) a pattern is tested against; the rest is ignored. */
export const MAX_SUBJECT_CHARS = 2048;
/** Characters per pattern (Firecrawl's documented limit). */
export const MAX_PATTERN_CHARS = 2000;
/** Patterns per field (Firecrawl's documented limit). */
export const MAX_PATTERNS_PER_FIELD = 1000;
/** Characters of includePaths and excludePaths together (Firecrawl's documented limit). */
export const MAX_TOTAL_PATTERN_CHARS = 100_000;
/** Worst-case backtracking steps allowed for one pattern. */
export const COST_BUDGET = 2 ** 25;
/** Worst-case steps for all the patterns of a crawl together, per URL. */
export const TOTAL_COST_BUDGET = 2 ** 28;

export type PatternErrorCode = 'invalid_regex' | 'unsafe_regex' | 'pattern_too_long';

/** A Firecrawl path filter: a regular expression searched in the subject. */
export interface RegexPattern {
  kind: 'regex';
  /** The pattern as the user sent it. */
  source: string;
  regex: RegExp;
  /** Worst-case steps for one subject (see COST_BUDGET). */
  cost: number;
}

/** A Scrapfly `*` wildcard, matched against the whole subject (see compileWildcard). */
export interface WildcardPattern {
  kind: 'wildcard';
  /** The pattern as the user sent it. */
  source: string;
  /** The literal text between the stars, normalized as subjects are; one piece when there is no star. */
  pieces: readonly string[];
  /** Knuth-Morris-Pratt failure table of each piece. */
  tables: readonly Int32Array[];
  /** Characters of the pattern: matching costs at most subject plus pattern length. */
  cost: number;
  regex?: undefined;
}

export type CompiledPattern = RegexPattern | WildcardPattern;

export type CompilePatternResult = { ok: true; pattern: RegexPattern } | { ok: false; code: PatternErrorCode; message: string };

/**
 * Whether `subject` matches: a regular expression anywhere in it (cut at
 * MAX_SUBJECT_CHARS), like RegExp.test; a wildcard over the whole of it.
 */
export function testPattern(p: CompiledPattern, subject: string): boolean {
  if (p.kind === 'wildcard') return testWildcard(p, subject);
  return p.regex.test(subject.length > MAX_SUBJECT_CHARS ? subject.slice(0, MAX_SUBJECT_CHARS) : subject);
}

// ---------------------------------------------------------------------------
// Character sets over ASCII. Subjects are normalized URLs or paths, which the
// URL parser leaves as printable ASCII (everything else is percent-encoded),
// so 128 code points describe everything a pattern can meet.

// Four 32-bit words: sets are unioned and intersected for every item of every
// pattern, up to a thousand patterns of two thousand characters per request.
class CharSet {
  private constructor(private readonly w: readonly [number, number, number, number]) {}
  static empty(): CharSet {
    return new CharSet([0, 0, 0, 0]);
  }
  static all(): CharSet {
    return new CharSet([~0, ~0, ~0, ~0]);
  }
  static of(...codes: number[]): CharSet {
    let s = CharSet.empty();
    for (const c of codes) s = s.withRange(c, c);
    return s;
  }
  /** Codes past ASCII are dropped: no subject contains them. */
  withRange(a: number, b: number): CharSet {
    const w = [...this.w] as [number, number, number, number];
    for (let c = Math.max(a, 0); c <= Math.min(b, 127); c++) w[c >> 5] |= 1 << (c & 31);
    return new CharSet(w);
  }
  has(c: number): boolean {
    return c >= 0 && c < 128 && (this.w[c >> 5] & (1 << (c & 31))) !== 0;
  }
  union(o: CharSet): CharSet {
    return new CharSet([this.w[0] | o.w[0], this.w[1] | o.w[1], this.w[2] | o.w[2], this.w[3] | o.w[3]]);
  }
  negate(): CharSet {
    return new CharSet([~this.w[0], ~this.w[1], ~this.w[2], ~this.w[3]]);
  }
  intersects(o: CharSet): boolean {
    return ((this.w[0] & o.w[0]) | (this.w[1] & o.w[1]) | (this.w[2] & o.w[2]) | (this.w[3] & o.w[3])) !== 0;
  }
  caseFolded(): CharSet {
    let letters = CharSet.empty();
    for (let c = 65; c <= 90; c++) if (this.has(c) || this.has(c + 32)) letters = letters.withRange(c, c).withRange(c + 32, c + 32);
    return this.union(letters);
  }
}

const DIGIT = CharSet.empty().withRange(48, 57);
const WORD = DIGIT.withRange(65, 90).withRange(97, 122).withRange(95, 95);
const SPACE = CharSet.of(9, 10, 11, 12, 13, 32);
const DOT = CharSet.of(10, 13).negate(); // `.` without the s flag: no line terminators
const EMPTY = CharSet.empty();

// ---------------------------------------------------------------------------
// A parse of the (already RegExp-validated, non-unicode-mode) pattern into
// the little the cost model needs.

class Unsafe extends Error {}

interface Quant {
  min: number;
  max: number; // Infinity when unbounded
}

// Memo fields: FIRST sets and nullability are asked for again at every
// enclosing level, which is quadratic for deeply nested groups without them.
interface Memo {
  first?: CharSet;
  nullable?: boolean;
  alwaysEmpty?: boolean;
}

type Item = Memo &
  (
    | { kind: 'chars'; set: CharSet; quant: Quant | null }
    | { kind: 'assert'; start: boolean; quant: Quant | null } // ^, $, \b, \B: zero width
    | { kind: 'group'; body: Seq[]; quant: Quant | null }
  );

type Seq = Item[];

class PatternParser {
  private i = 0;
  /** Offsets where each top-level branch starts, for the leading `.*` rewrite. */
  readonly topBranchStarts: number[] = [];
  constructor(
    private readonly s: string,
    private readonly ignoreCase: boolean,
    private readonly dotAll: boolean,
  ) {}

  parse(): Seq[] {
    const alt = this.alternation(true);
    if (this.i !== this.s.length) throw new Unsafe('unbalanced parenthesis');
    return alt;
  }

  private alternation(top: boolean): Seq[] {
    if (top) this.topBranchStarts.push(this.i);
    const branches = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      if (top) this.topBranchStarts.push(this.i);
      branches.push(this.sequence());
    }
    return branches;
  }

  private sequence(): Seq {
    const items: Seq = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const item = this.atom();
      item.quant = this.quantifier();
      items.push(item);
    }
    return items;
  }

  private chars(set: CharSet): Item {
    return { kind: 'chars', set: this.ignoreCase ? set.caseFolded() : set, quant: null };
  }

  private atom(): Item {
    const s = this.s;
    const c = s[this.i];
    if (c === '(') {
      if (['(?=', '(?!', '(?<=', '(?<!'].some((p) => s.startsWith(p, this.i))) {
        throw new Unsafe('look-around assertions are not supported');
      }
      if (s.startsWith('(?:', this.i)) this.i += 3;
      else if (s.startsWith('(?<', this.i)) this.i = s.indexOf('>', this.i) + 1;
      else if (s.startsWith('(?', this.i)) {
        throw new Unsafe('inline group flags are only supported at the start of a pattern');
      } else this.i++;
      const body = this.alternation(false);
      if (s[this.i] !== ')') throw new Unsafe('unbalanced parenthesis');
      this.i++;
      return { kind: 'group', body, quant: null };
    }
    if (c === '[') return this.chars(this.charClass());
    if (c === '\\') return this.escape();
    this.i++;
    if (c === '.') return this.chars(this.dotAll ? CharSet.all() : DOT);
    if (c === '^') return { kind: 'assert', start: true, quant: null };
    if (c === '$') return { kind: 'assert', start: false, quant: null };
    return this.chars(CharSet.of(c.charCodeAt(0)));
  }

  private escape(): Item {
    const s = this.s;
    const n = s[this.i + 1];
    if (n === undefined) throw new Unsafe('trailing backslash');
    if (n >= '1' && n <= '9') throw new Unsafe('backreferences are not supported');
    if (n === 'k' && s[this.i + 2] === '<') throw new Unsafe('backreferences are not supported');
    if (n === 'b' || n === 'B') {
      this.i += 2;
      return { kind: 'assert', start: false, quant: null };
    }
    return this.chars(this.escapeAtom().set);
  }

  /**
   * The escape at this.i (a backslash), consumed whole so that a quantifier
   * after it applies to the right thing: its set, and its code point when it
   * stands for one character (a range end).
   */
  private escapeAtom(): { set: CharSet; code: number | null } {
    const one = (code: number) => ({ set: CharSet.of(code), code });
    const many = (set: CharSet) => ({ set, code: null });
    const s = this.s;
    const n = s[this.i + 1];
    const hex = (len: number) => {
      const h = s.slice(this.i, this.i + len);
      return h.length === len && /^[0-9a-fA-F]+$/.test(h) ? parseInt(h, 16) : null;
    };
    this.i += 2;
    switch (n) {
      case 'd':
        return many(DIGIT);
      case 'D':
        return many(DIGIT.negate());
      case 'w':
        return many(WORD);
      case 'W':
        return many(WORD.negate());
      case 's':
        return many(SPACE);
      case 'S':
        return many(SPACE.negate());
      case 'n':
        return one(10);
      case 'r':
        return one(13);
      case 't':
        return one(9);
      case 'v':
        return one(11);
      case 'f':
        return one(12);
      case 'x': {
        const c = hex(2);
        if (c === null) return one(120);
        this.i += 2;
        return one(c);
      }
      case 'u': {
        const c = hex(4);
        if (c === null) return one(117);
        this.i += 4;
        return one(c);
      }
      case 'c': {
        const l = s[this.i];
        if (l !== undefined && /[a-zA-Z]/.test(l)) {
          this.i++;
          return one(l.charCodeAt(0) % 32);
        }
        // Annex B: a lone `\c` is a backslash, and the `c` is read next.
        this.i--;
        return one(92);
      }
      case '0': {
        // Annex B legacy octal: \0 followed by up to two octal digits.
        const m = /^[0-7]{1,2}/.exec(s.slice(this.i, this.i + 2));
        if (!m) return one(0);
        this.i += m[0].length;
        return one(parseInt(m[0], 8));
      }
      default:
        // Outside unicode mode every other escape is the character itself.
        return one(n.charCodeAt(0));
    }
  }

  private charClass(): CharSet {
    const s = this.s;
    this.i++; // [
    let negated = false;
    if (s[this.i] === '^') {
      negated = true;
      this.i++;
    }
    let set = CharSet.empty();
    let prev: number | null = null; // the last single character, for a range
    while (this.i < s.length && s[this.i] !== ']') {
      if (s[this.i] === '-' && prev !== null && s[this.i + 1] !== undefined && s[this.i + 1] !== ']') {
        this.i++;
        const hi = this.classAtom();
        if (hi.single !== null) set = set.withRange(prev, hi.single);
        else set = set.union(hi.set).union(CharSet.of(45)); // Annex B: [a-\d] is a, -, \d
        prev = null;
        continue;
      }
      const a = this.classAtom();
      set = set.union(a.set);
      prev = a.single;
    }
    this.i++; // ]
    return negated ? set.negate() : set;
  }

  private classAtom(): { set: CharSet; single: number | null } {
    const s = this.s;
    if (s[this.i] !== '\\') {
      const c = s.charCodeAt(this.i);
      this.i++;
      return { set: CharSet.of(c), single: c };
    }
    const n = s[this.i + 1];
    if (n === 'b') {
      this.i += 2;
      return { set: CharSet.of(8), single: 8 };
    }
    if (n !== undefined && n >= '1' && n <= '9') {
      // Annex B octal or identity escape inside a class: count it as anything.
      this.i += 2;
      return { set: CharSet.all(), single: null };
    }
    const e = this.escapeAtom();
    return { set: e.set, single: e.code };
  }

  private quantifier(): Quant | null {
    const s = this.s;
    let q: Quant | null = null;
    const c = s[this.i];
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q) this.i++;
    else if (c === '{') {
      // Outside unicode mode a `{` that is not a well-formed quantifier is a
      // literal character.
      const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.i, this.i + 24));
      if (!m) return null;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      q = { min, max };
      this.i += m[0].length;
    }
    if (q && s[this.i] === '?') this.i++; // lazy: same choices, other order
    return q;
  }
}

// ---------------------------------------------------------------------------
// The cost model.

function nullableItem(it: Item): boolean {
  it.nullable ??=
    (it.quant !== null && it.quant.min === 0) || it.kind === 'assert' || (it.kind === 'group' && it.body.some((b) => b.every(nullableItem)));
  return it.nullable;
}

function firstOfItem(it: Item): CharSet {
  it.first ??= it.kind === 'chars' ? it.set : it.kind === 'assert' ? EMPTY : it.body.reduce((acc, b) => acc.union(followSets(b, EMPTY)[0]), EMPTY);
  return it.first;
}

/**
 * follow[k]: the characters that can start what matches after seq[k-1], i.e.
 * from seq[k] on, then `follow` when all of that can be empty. follow[0] is
 * the FIRST set of the whole sequence.
 */
function followSets(seq: Seq, follow: CharSet): CharSet[] {
  const out = new Array<CharSet>(seq.length + 1);
  out[seq.length] = follow;
  for (let k = seq.length - 1; k >= 0; k--) {
    const it = seq[k];
    out[k] = nullableItem(it) ? firstOfItem(it).union(out[k + 1]) : firstOfItem(it);
  }
  return out;
}

/**
 * Rule 2, checked on the whole pattern, also where the cost model would let
 * it pass (a trailing `(a|a)*` matches the empty string and is harmless):
 * users get one predictable rule.
 */
function checkRepeatedGroups(body: Seq[]): void {
  for (const seq of body) {
    for (const it of seq) {
      if (it.kind !== 'group') continue;
      if (it.quant !== null && it.quant.max > 1 && hasChoices(it.body)) {
        throw new Unsafe(
          'a repeated group may not contain its own quantifier or alternation (exponential backtracking); ' +
            'use a character class instead, e.g. [a-z/]* rather than (/[a-z]+)*',
        );
      }
      checkRepeatedGroups(it.body);
    }
  }
}

/** Whether the body makes choices of its own (a variable quantifier or an alternation). */
function hasChoices(body: Seq[]): boolean {
  if (body.length > 1) return true;
  return body.some((seq) => seq.some((it) => (it.quant !== null && it.quant.max !== it.quant.min) || (it.kind === 'group' && hasChoices(it.body))));
}

function lengths(q: Quant): number {
  return Math.max(1, Math.min(q.max, MAX_SUBJECT_CHARS) - Math.min(q.min, MAX_SUBJECT_CHARS) + 1);
}

// Worst-case steps from one position, for a match that fails (a match that
// succeeds ends RegExp.test, so its work is paid once, not per attempt).
// Every item does its own work (a quantifier scans up to its maximum and
// backs off through each length), and each way it can succeed is a separate
// attempt at everything after it. A quantifier whose characters cannot start
// what follows it gives back characters in vain: only its longest match
// continues. Once the rest of the pattern can match the empty string
// whatever the input (`.*` at the end), reaching it is a success.

/** Whether the item matches the empty string at any position, assertions aside. */
function alwaysEmpty(it: Item): boolean {
  it.alwaysEmpty ??=
    it.kind !== 'assert' && ((it.quant !== null && it.quant.min === 0) || (it.kind === 'group' && it.body.some((b) => b.every(alwaysEmpty))));
  return it.alwaysEmpty;
}

function workOfAlt(body: Seq[], rest: number, follow: CharSet, restOk: boolean): number {
  return body.reduce((sum, seq) => sum + workOfSeq(seq, rest, follow, restOk), 0);
}

function workOfSeq(seq: Seq, rest: number, follow: CharSet, restOk: boolean): number {
  const after = followSets(seq, follow);
  let work = rest;
  let ok = restOk;
  for (let k = seq.length - 1; k >= 0; k--) {
    const it = seq[k];
    const okFromHere = ok && alwaysEmpty(it);
    work = okFromHere ? 1 : workOfItem(it, work, after[k + 1], ok);
    ok = okFromHere;
  }
  return work;
}

function workOfItem(it: Item, rest: number, follow: CharSet, restOk: boolean): number {
  const q = it.quant;
  if (it.kind === 'assert') return 1 + rest;
  if (it.kind === 'chars') {
    if (!q) return 1 + rest;
    const scan = Math.min(q.max, MAX_SUBJECT_CHARS);
    if (q.max === q.min) return scan + rest;
    return scan + (it.set.intersects(follow) ? lengths(q) : 1) * rest;
  }
  if (!q || (q.min === 1 && q.max === 1)) return workOfAlt(it.body, rest, follow, restOk);
  if (q.max <= 1) return workOfAlt(it.body, rest, follow, restOk) + rest;
  // checkRepeatedGroups has made sure the body has no choices of its own, so
  // it matches one fixed string: at worst one character a repetition, and
  // repetitions cannot outnumber the subject's characters.
  const scan = Math.min(q.max, MAX_SUBJECT_CHARS) * workOfAlt(it.body, 0, EMPTY, false);
  if (q.max === q.min) return scan + rest;
  return scan + (firstOfItem(it).intersects(follow) ? lengths(q) : 1) * rest;
}

/** `.*` or `.+` (or any class that every subject character is in), unbounded. */
function startsWithDotStar(seq: Seq): boolean {
  const first = seq[0];
  if (first === undefined || first.kind !== 'chars' || first.quant === null) return false;
  if (first.quant.min > 1 || first.quant.max !== Infinity) return false;
  for (let c = 32; c <= 126; c++) if (!first.set.has(c)) return false;
  return true;
}

function anchored(seq: Seq): boolean {
  const first = seq[0];
  return first !== undefined && first.kind === 'assert' && first.start && first.quant === null;
}

// Rust-regex style inline flags at the very start, `(?i)`, `(?s)`, `(?m)`,
// `(?is)`: Firecrawl users write them, JavaScript (Node 20) does not parse
// them, and the equivalent RegExp flags exist.
function splitInlineFlags(pattern: string): { body: string; flags: string } | null {
  const m = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (!m) return { body: pattern, flags: '' };
  const letters = m[1];
  if (!/^[ism]+$/.test(letters)) return null;
  return { body: pattern.slice(m[0].length), flags: [...new Set(letters)].join('') };
}

/** Compile a user path pattern, or say why it cannot be used. */
export function compilePattern(source: string): CompilePatternResult {
  if (source.length > MAX_PATTERN_CHARS) {
    return { ok: false, code: 'pattern_too_long', message: `is longer than ${MAX_PATTERN_CHARS} characters` };
  }
  const split = splitInlineFlags(source);
  if (!split) return { ok: false, code: 'invalid_regex', message: 'only the inline flags i, s and m are supported' };
  const { body, flags } = split;
  try {
    new RegExp(body, flags);
  } catch (err) {
    const why = (err as Error).message;
    return { ok: false, code: 'invalid_regex', message: `is not a valid regular expression (${why})` };
  }

  let branches: Seq[];
  let parser: PatternParser;
  try {
    parser = new PatternParser(body, flags.includes('i'), flags.includes('s'));
    branches = parser.parse();
    checkRepeatedGroups(branches);
  } catch (err) {
    if (err instanceof Unsafe) return { ok: false, code: 'unsafe_regex', message: err.message };
    throw err;
  }

  // RegExp.test tries every start position. A branch that begins with `.*`
  // or `.+` matches from position 0 whenever it matches anywhere (subjects
  // hold no line terminator), so anchoring it changes no answer and removes
  // the start-position factor, which V8 does not remove by itself.
  let rewritten = body;
  const offsets = parser.topBranchStarts;
  for (let b = branches.length - 1; b >= 0; b--) {
    const seq = branches[b];
    if (!anchored(seq) && startsWithDotStar(seq)) {
      rewritten = `${rewritten.slice(0, offsets[b])}^${rewritten.slice(offsets[b])}`;
      seq.unshift({ kind: 'assert', start: true, quant: null });
    }
  }

  const cost = branches.reduce((sum, seq) => sum + (anchored(seq) ? 1 : MAX_SUBJECT_CHARS) * workOfSeq(seq, 1, EMPTY, true), 0);
  if (cost > COST_BUDGET) {
    return {
      ok: false,
      code: 'unsafe_regex',
      message:
        'can backtrack too much on a long URL (several quantifiers whose characters overlap with what follows ' +
        'them); anchor it with ^, or use narrower character classes such as [^/]* instead of .*',
    };
  }
  return { ok: true, pattern: { kind: 'regex', source, regex: new RegExp(rewritten, flags), cost } };
}

// ---------------------------------------------------------------------------
// Scrapfly's `*` wildcards (exclude_paths / include_only_paths, and the host
// lists allowed_internal_subdomains / allowed_external_domains).
//
// A wildcard is literal text and `*`, which matches any run of characters,
// `/` and `.` included, and the pattern must match the whole subject (fnmatch
// with `*` as its only operator: `?` and `[` are literal, since `?` cannot
// occur in a path and brackets do in real URLs). Matching takes the literal
// pieces between the stars left to right: the first must begin the subject,
// the last must end it, and each one between is taken at its leftmost
// occurrence after the one before. Leftmost is always right when `*` is the
// only operator (a later occurrence only leaves less room for the rest), so
// nothing is ever retried, and each piece is found with Knuth-Morris-Pratt:
// one test costs at most the subject's length plus the pattern's, whatever
// both hold. No regular expression is built.

export type WildcardSyntax = 'path' | 'host';

export type CompileWildcardResult = { ok: true; pattern: WildcardPattern } | { ok: false; code: PatternErrorCode; message: string };

// Characters the URL parser percent-encodes in a path (the WHATWG path
// percent-encode set, plus anything outside printable ASCII), so a pattern
// written with them matches the normalized path that holds their escapes.
const PATH_ESCAPED = new Set(['"', '#', '<', '>', '?', '`', '{', '}']);

function escapePathText(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (c > 0x20 && c < 0x7f && !PATH_ESCAPED.has(ch)) out += ch;
    else {
      try {
        out += encodeURIComponent(ch); // UTF-8, upper-case hex
      } catch {
        out += '%EF%BF%BD'; // a lone surrogate: the URL parser writes U+FFFD
      }
    }
  }
  return normalizePercentEncoding(out);
}

function failureTable(piece: string): Int32Array {
  const t = new Int32Array(piece.length);
  for (let i = 1, k = 0; i < piece.length; i++) {
    while (k > 0 && piece.charCodeAt(i) !== piece.charCodeAt(k)) k = t[k - 1];
    if (piece.charCodeAt(i) === piece.charCodeAt(k)) k++;
    t[i] = k;
  }
  return t;
}

/** Where `piece` first occurs wholly inside subject[from, to), or -1 (Knuth-Morris-Pratt). */
function findPiece(subject: string, piece: string, table: Int32Array, from: number, to: number): number {
  const m = piece.length;
  if (m === 0) return from;
  for (let i = from, k = 0; i < to; i++) {
    const c = subject.charCodeAt(i);
    while (k > 0 && c !== piece.charCodeAt(k)) k = table[k - 1];
    if (c === piece.charCodeAt(k)) k++;
    if (k === m) return i - m + 1;
  }
  return -1;
}

function testWildcard(p: WildcardPattern, subject: string): boolean {
  const { pieces, tables } = p;
  const first = pieces[0];
  if (pieces.length === 1) return subject === first;
  const last = pieces[pieces.length - 1];
  // The last piece's room is kept free: the middle pieces must fit before it.
  const end = subject.length - last.length;
  if (end < first.length || !subject.startsWith(first) || !subject.endsWith(last)) return false;
  let pos = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const at = findPiece(subject, pieces[i], tables[i], pos, end);
    if (at < 0) return false;
    pos = at + pieces[i].length;
  }
  return true;
}

/**
 * Compiles a Scrapfly wildcard. As a path ('path'): matched against the
 * normalized URL path (no query), case-sensitive; a pattern not starting with
 * `/` or `*` is read as starting with `/` (`blog/*` is `/blog/*`), and its
 * text is percent-encoded as the URL parser encodes a path, so `/café/*`
 * matches `/caf%C3%A9/menu`. As a host name ('host'): compared lower-case,
 * a trailing dot ignored; internationalized names are given in their
 * `xn--` form.
 */
export function compileWildcard(source: string, syntax: WildcardSyntax): CompileWildcardResult {
  if (source.length > MAX_PATTERN_CHARS) {
    return { ok: false, code: 'pattern_too_long', message: `is longer than ${MAX_PATTERN_CHARS} characters` };
  }
  let text = source.trim();
  if (syntax === 'path' && !text.startsWith('/') && !text.startsWith('*')) text = `/${text}`;
  if (syntax === 'host') text = text.toLowerCase().replace(/\.$/, '');
  // Runs of stars are one star.
  const pieces = text
    .replace(/\*+/g, '*')
    .split('*')
    .map((piece) => (syntax === 'path' ? escapePathText(piece) : piece));
  return { ok: true, pattern: { kind: 'wildcard', source, pieces, tables: pieces.map(failureTable), cost: text.length } };
}
