/**
 * SSRF address guard: decides whether an IP literal may be dialled.
 * Pure (no I/O). Only public unicast addresses pass, unless an explicit
 * allow-list CIDR covers the address (allow-list wins over any refusal).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address as an integer (32 or 128 bits), host bits zero. */
  readonly network: bigint;
  readonly prefix: number;
  /** Canonical text, e.g. "10.0.0.0/8". */
  readonly text: string;
}

export type GuardVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Refusal raised by the connect path. Carries no error code on purpose: the
 * webhook side maps it to ERR::WEBHOOK::ENDPOINT_UNREACHABLE, the scrape side
 * to ERR::SCRAPE::ADDRESS_REFUSED.
 */
export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError';
  constructor(
    /** Host as it appeared in the URL (hostname or literal). */
    readonly host: string,
    /** The address that was refused (resolved or literal). */
    readonly address: string,
    /** Human-readable reason, e.g. "127.0.0.1 is a loopback address". */
    readonly reason: string,
  ) {
    super(`refusing to connect to ${host}${host === address ? '' : ` (${address})`}: ${reason}`);
  }
}

// ---------------------------------------------------------------------------
// Parsing and formatting

const V4_BITS = 32;
const V6_BITS = 128;

type Parsed = { family: 4 | 6; value: bigint; zone: string | null };

/**
 * Parses one WHATWG/inet_aton IPv4 part: 0x.. hex, 0.. octal, else decimal.
 * Returns null when the part is not a number in that radix.
 */
function parseV4Part(part: string): bigint | null {
  if (part === '') return null;
  let digits = part;
  let prefix = '';
  if (/^0[xX]/.test(part)) {
    digits = part.slice(2);
    prefix = '0x';
    if (digits === '') return 0n; // WHATWG: "0x" alone is zero
    if (!/^[0-9a-fA-F]+$/.test(digits)) return null;
  } else if (part.length > 1 && part[0] === '0') {
    digits = part.slice(1);
    prefix = '0o';
    if (!/^[0-7]+$/.test(digits)) return null;
  } else if (!/^[0-9]+$/.test(digits)) {
    return null;
  }
  return BigInt(prefix + digits);
}

/** WHATWG URL IPv4 parser (accepts 1-4 parts, hex/octal/decimal). */
function parseLooseIPv4(input: string): bigint | null {
  const parts = input.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // trailing dot
  if (parts.length === 0 || parts.length > 4) return null;
  const nums: bigint[] = [];
  for (const p of parts) {
    const n = parseV4Part(p);
    if (n === null) return null;
    nums.push(n);
  }
  const last = nums[nums.length - 1]!;
  for (let i = 0; i < nums.length - 1; i++) if (nums[i]! > 255n) return null;
  // The last part fills all remaining bytes ("127.1" == 127.0.0.1).
  if (last >= 1n << BigInt(8 * (5 - nums.length))) return null;
  let value = last;
  for (let i = 0; i < nums.length - 1; i++) value += nums[i]! << BigInt(8 * (3 - i));
  return value;
}

function parseIPv6(s: string): bigint | null {
  if (!isIPv6(s) || s.includes('%')) return null;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return null;
    const v4 = Number(parseLooseIPv4(tail));
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  let groups: string[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    const head = text.slice(0, dbl) === '' ? [] : text.slice(0, dbl).split(':');
    const rest = text.slice(dbl + 2) === '' ? [] : text.slice(dbl + 2).split(':');
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = text.split(':');
  }
  if (groups.length !== 8) return null;
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

function formatIPv4(v: bigint): string {
  const n = Number(v);
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** RFC 5952 text (same as WHATWG URL serialisation: no dotted tail). */
function formatIPv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1; // only runs of 2+ zero groups are compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function parseAny(host: string): Parsed | null {
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) {
    h = h.slice(1, -1);
    if (!h.includes(':')) return null;
  }
  if (h.includes(':')) {
    const pct = h.indexOf('%');
    const bare = pct >= 0 ? h.slice(0, pct) : h;
    const zone = pct >= 0 ? h.slice(pct + 1) : null;
    if (zone !== null && !/^[0-9A-Za-z_.-]+$/.test(zone)) return null;
    const value = parseIPv6(bare);
    return value === null ? null : { family: 6, value, zone };
  }
  const value = parseLooseIPv4(h);
  return value === null ? null : { family: 4, value, zone: null };
}

function format(p: Parsed): string {
  const base = p.family === 4 ? formatIPv4(p.value) : formatIPv6(p.value);
  return p.zone === null ? base : `${base}%${p.zone}`;
}

/**
 * Recognises every IP literal form a URL host or resolver might accept
 * (decimal 2130706433, hex 0x7f000001, octal 0177.0.0.1, short 127.1,
 * mixed 0x7f.1, bracketed or zoned IPv6) and returns the dotted quad or the
 * canonical IPv6 text (zone kept as "%zone"). Null when not an IP literal.
 */
export function normalizeIpLiteral(host: string): string | null {
  const p = parseAny(host);
  return p === null ? null : format(p);
}

// ---------------------------------------------------------------------------
// CIDRs

function mask(bits: number, prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
}

function makeCidr(family: 4 | 6, value: bigint, prefix: number): Cidr {
  const network = value & mask(family === 4 ? V4_BITS : V6_BITS, prefix);
  const text = `${family === 4 ? formatIPv4(network) : formatIPv6(network)}/${prefix}`;
  return { family, network, prefix, text };
}

function cidrContains(c: Cidr, family: 4 | 6, value: bigint): boolean {
  if (c.family !== family) return false;
  return (value & mask(family === 4 ? V4_BITS : V6_BITS, c.prefix)) === c.network;
}

/**
 * Parses "10.0.0.0/8, 2001:db8::/32, 127.0.0.2" (bare IPs become /32 or
 * /128). Only standard literals are accepted here: config should say exactly
 * what it means. Entries with host bits set are rejected rather than silently
 * widened, since "10.0.0.1/8" usually means a typo.
 */
export function parseCidrList(s: string): Cidr[] {
  const out: Cidr[] = [];
  for (const raw of s.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const fail = (why: string): never => {
      throw new Error(`invalid CIDR entry "${entry}": ${why}`);
    };
    const slash = entry.indexOf('/');
    const addr = slash >= 0 ? entry.slice(0, slash) : entry;
    const prefixText = slash >= 0 ? entry.slice(slash + 1) : null;
    let family: 4 | 6;
    let value: bigint | null;
    if (isIPv4(addr)) {
      family = 4;
      value = parseLooseIPv4(addr);
    } else if (isIPv6(addr) && !addr.includes('%')) {
      family = 6;
      value = parseIPv6(addr);
    } else {
      return fail('not an IPv4 or IPv6 address');
    }
    if (value === null) return fail('not an IPv4 or IPv6 address');
    const bits = family === 4 ? V4_BITS : V6_BITS;
    let prefix = bits;
    if (prefixText !== null) {
      if (!/^\d{1,3}$/.test(prefixText)) fail('prefix length must be a number');
      prefix = Number(prefixText);
      if (prefix > bits) fail(`prefix length must be 0-${bits}`);
    }
    const cidr = makeCidr(family, value, prefix);
    if (cidr.network !== value) fail(`host bits set (did you mean ${cidr.text}?)`);
    out.push(cidr);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Classification

function rules(list: ReadonlyArray<readonly [string, string]>): Array<{ cidr: Cidr; what: string }> {
  return list.map(([text, what]) => ({ cidr: parseCidrList(text)[0]!, what }));
}

// First match wins, so more specific entries come first.
const V4_RULES = rules([
  ['0.0.0.0/8', 'a "this network" (unspecified) address'],
  ['10.0.0.0/8', 'a private address'],
  ['100.64.0.0/10', 'a carrier-grade NAT (shared) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.169.254/32', 'a link-local address (cloud metadata endpoint)'],
  ['169.254.0.0/16', 'a link-local address'],
  ['172.16.0.0/12', 'a private address'],
  ['192.0.0.0/24', 'an IETF protocol-assignment address'],
  ['192.0.2.0/24', 'a documentation address'],
  ['192.168.0.0/16', 'a private address'],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['198.51.100.0/24', 'a documentation address'],
  ['203.0.113.0/24', 'a documentation address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['255.255.255.255/32', 'the broadcast address'],
  ['240.0.0.0/4', 'a reserved address'],
]);

const V6_RULES = rules([
  ['100::/64', 'a discard-only address'],
  ['2001:2::/48', 'a benchmarking address'],
  ['2001:db8::/32', 'a documentation address'],
  ['3fff::/20', 'a documentation address'],
  ['fc00::/7', 'a unique-local address'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a site-local address'],
  ['ff00::/8', 'a multicast address'],
]);

const GLOBAL_UNICAST = parseCidrList('2000::/3')[0]!;

function v4What(v: bigint): string | null {
  for (const r of V4_RULES) if (cidrContains(r.cidr, 4, v)) return r.what;
  return null;
}

const bitsAt = (v: bigint, from: number, len: number): bigint =>
  (v >> BigInt(V6_BITS - from - len)) & ((1n << BigInt(len)) - 1n);

/** Forms that are the same host as the embedded IPv4 (allow-list applies to it). */
function sameHostV4(v: bigint): { v4: bigint; form: string } | null {
  const hi96 = v >> 32n;
  const low = v & 0xffffffffn;
  if (hi96 === 0xffffn) return { v4: low, form: 'an IPv4-mapped' };
  if (hi96 === 0xffff0000n) return { v4: low, form: 'an IPv4-translated' };
  if (hi96 === 0n && low > 1n) return { v4: low, form: 'an IPv4-compatible' };
  return null;
}

const NAT64_WKP = parseCidrList('64:ff9b::/96')[0]!;
const NAT64_LOCAL = parseCidrList('64:ff9b:1::/48')[0]!;
const SIX_TO_FOUR = parseCidrList('2002::/16')[0]!;
const TEREDO = parseCidrList('2001::/32')[0]!;

/** RFC 6052 decoding of an IPv4 embedded under a prefix of length `plen`. */
function rfc6052(v: bigint, plen: 48 | 56 | 64 | 96): bigint | null {
  if (plen === 96) return bitsAt(v, 96, 32);
  // Bits 64..71 (the "u" octet) are skipped; bits after the IPv4 must be zero.
  const [v4, end] =
    plen === 48 ? [(bitsAt(v, 48, 16) << 16n) | bitsAt(v, 72, 16), 88]
    : plen === 56 ? [(bitsAt(v, 56, 8) << 24n) | bitsAt(v, 72, 24), 96]
    : [bitsAt(v, 72, 32), 104];
  return bitsAt(v, end, V6_BITS - end) === 0n ? v4 : null;
}

/** IPv4 addresses that a v6 address carries for routing purposes. */
function embeddedV4(v: bigint): Array<{ v4: bigint; form: string }> {
  const same = sameHostV4(v);
  if (same) return [same];
  if (cidrContains(NAT64_WKP, 6, v)) return [{ v4: v & 0xffffffffn, form: 'a NAT64' }];
  if (cidrContains(NAT64_LOCAL, 6, v)) {
    // Local-use NAT64 may use any RFC 6052 prefix length and we cannot know
    // which; judge every layout consistent with the address.
    const out: Array<{ v4: bigint; form: string }> = [];
    for (const plen of [48, 56, 64, 96] as const) {
      const v4 = rfc6052(v, plen);
      if (v4 !== null) out.push({ v4, form: 'a local-use NAT64' });
    }
    return out;
  }
  if (cidrContains(SIX_TO_FOUR, 6, v)) return [{ v4: bitsAt(v, 16, 32), form: 'a 6to4' }];
  if (cidrContains(TEREDO, 6, v)) {
    return [
      { v4: bitsAt(v, 32, 32), form: 'a Teredo (server)' },
      { v4: bitsAt(v, 96, 32) ^ 0xffffffffn, form: 'a Teredo (client)' },
    ];
  }
  return [];
}

function classifyV6(v: bigint, text: string): string | null {
  if (v === 0n || v === 1n) {
    return `${text} is ${v === 0n ? 'the unspecified address' : 'a loopback address'}`;
  }
  const embedded = embeddedV4(v);
  for (const e of embedded) {
    const what = v4What(e.v4);
    if (what !== null) return `${text} is ${e.form} form of ${formatIPv4(e.v4)}, ${what}`;
  }
  for (const r of V6_RULES) if (cidrContains(r.cidr, 6, v)) return `${text} is ${r.what}`;
  // Embedding forms live outside 2000::/3 but carry a public IPv4 here.
  if (embedded.length === 0 && !cidrContains(GLOBAL_UNICAST, 6, v)) {
    return `${text} is not a global unicast address`;
  }
  return null;
}

/**
 * Why an address must not be dialled, or null when it is public unicast.
 * Accepts any form normalizeIpLiteral accepts; non-literals are refused.
 */
export function refusalReason(ip: string): string | null {
  const p = parseAny(ip);
  if (p === null) return `${ip} is not an IP address`;
  const text = format(p);
  if (p.family === 4) {
    const what = v4What(p.value);
    return what === null ? null : `${text} is ${what}`;
  }
  const reason = classifyV6(p.value, p.zone === null ? text : text.slice(0, text.indexOf('%')));
  if (reason !== null) return reason;
  // A zone only makes sense for scoped (non-global) addresses.
  return p.zone === null ? null : `${text} has a zone id (scoped addresses are refused)`;
}

export class AddressGuard {
  private readonly allow: readonly Cidr[];

  constructor(allow: Cidr[] = []) {
    this.allow = [...allow];
  }

  /** Convenience for config values like WEBHOOK_ALLOWED_CIDRS. */
  static fromList(list: string | undefined): AddressGuard {
    return new AddressGuard(parseCidrList(list ?? ''));
  }

  get allowList(): readonly Cidr[] {
    return this.allow;
  }

  check(ip: string): GuardVerdict {
    const p = parseAny(ip);
    if (p === null) return { allowed: false, reason: `${ip} is not an IP address` };
    if (this.allowed(p)) return { allowed: true };
    const reason = refusalReason(ip);
    return reason === null ? { allowed: true } : { allowed: false, reason };
  }

  private allowed(p: Parsed): boolean {
    if (this.allow.some((c) => cidrContains(c, p.family, p.value))) return true;
    // ::ffff:127.0.0.1 is 127.0.0.1, so an IPv4 entry covers it too.
    const same = p.family === 6 ? sameHostV4(p.value) : null;
    return same !== null && this.allow.some((c) => cidrContains(c, 4, same.v4));
  }
}
