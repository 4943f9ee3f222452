/**
 * SSRF address guard: decides whether an IP literal may be dialled.
 * Pure (no I/O). Only public unicast addresses pass, unless an explicit
 * allow-list CIDR covers the address (allow-list wins over any refusal).
 */
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address, host bits zero. */
  readonly network: ipaddr.IPv4 | ipaddr.IPv6;
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
// Parsing and formatting (ipaddr.js, plus the WHATWG forms it lacks)

type Ip = ipaddr.IPv4 | ipaddr.IPv6;
const isV4 = (ip: Ip): ip is ipaddr.IPv4 => ip.kind() === 'ipv4';

function parseV4(h: string): ipaddr.IPv4 | null {
  // WHATWG URL drops one trailing dot ("127.0.0.1." is 127.0.0.1); ipaddr.js does not.
  const text = h.endsWith('.') ? h.slice(0, -1) : h;
  try {
    return ipaddr.IPv4.parse(text); // also decimal, hex, octal and short forms (127.1)
  } catch {
    return null;
  }
}

function parseV6(h: string): ipaddr.IPv6 | null {
  const pct = h.indexOf('%');
  const bare = pct >= 0 ? h.slice(0, pct) : h;
  const zone = pct >= 0 ? h.slice(pct + 1) : undefined;
  // ipaddr.js reads "::ffff:0177.0.0.1" (octal in a dotted tail) as decimal;
  // node:net refuses it, as WHATWG URL does.
  if (!isIPv6(bare) || (zone !== undefined && !/^[0-9A-Za-z_.-]+$/.test(zone))) return null;
  // ipaddr.js turns "::1.2.3.4" (IPv4-compatible) into "::ffff:1.2.3.4", a
  // different address, so the dotted tail reaches it as two hex groups.
  const tail = bare.slice(bare.lastIndexOf(':') + 1);
  let text = bare;
  if (isIPv4(tail)) {
    const [a, b, c, d] = ipaddr.IPv4.parse(tail).octets as [number, number, number, number];
    text = `${bare.slice(0, -tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  try {
    const ip = ipaddr.IPv6.parse(text);
    if (zone !== undefined) ip.zoneId = zone;
    return ip;
  } catch {
    return null;
  }
}

function parseAny(host: string): Ip | null {
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) {
    h = h.slice(1, -1);
    if (!h.includes(':')) return null;
  }
  return h.includes(':') ? parseV6(h) : parseV4(h);
}

/** Dotted quad, or RFC 5952 text (what WHATWG URL serialises: no dotted tail) with "%zone". */
function format(ip: Ip): string {
  return isV4(ip) ? ip.toString() : ip.toRFC5952String();
}

/**
 * Recognises every IP literal form a URL host or resolver might accept
 * (decimal 2130706433, hex 0x7f000001, octal 0177.0.0.1, short 127.1,
 * mixed 0x7f.1, bracketed or zoned IPv6) and returns the dotted quad or the
 * canonical IPv6 text (zone kept as "%zone"). Null when not an IP literal.
 */
export function normalizeIpLiteral(host: string): string | null {
  const ip = parseAny(host);
  return ip === null ? null : format(ip);
}

// ---------------------------------------------------------------------------
// CIDRs

function inCidr(ip: Ip, c: Cidr): boolean {
  return ip.kind() === c.network.kind() && ip.match(c.network, c.prefix);
}

/**
 * Parses "10.0.0.0/8" or a bare address (/32 or /128). Only standard
 * literals: configuration should say exactly what it means. An entry with
 * host bits set is rejected rather than silently widened, since
 * "10.0.0.1/8" usually means a typo.
 */
export function parseCidr(entry: string): Cidr {
  const fail = (why: string): never => {
    throw new Error(`invalid CIDR entry "${entry}": ${why}`);
  };
  const slash = entry.indexOf('/');
  const addrText = slash >= 0 ? entry.slice(0, slash) : entry;
  const prefixText = slash >= 0 ? entry.slice(slash + 1) : null;
  const addr = isIPv4(addrText) ? parseV4(addrText) : addrText.includes('%') ? null : parseV6(addrText);
  if (addr === null) return fail('not an IPv4 or IPv6 address');
  const bits = isV4(addr) ? 32 : 128;
  if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) fail('prefix length must be a number');
  const prefix = prefixText === null ? bits : Number(prefixText);
  if (prefix > bits) fail(`prefix length must be 0-${bits}`);
  const network = isV4(addr)
    ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toNormalizedString()}/${prefix}`);
  const text = `${format(network)}/${prefix}`;
  if (format(network) !== format(addr)) fail(`host bits set (did you mean ${text}?)`);
  return { family: bits === 32 ? 4 : 6, network, prefix, text };
}

/** "10.0.0.0/8, 2001:db8::/32, 127.0.0.2": each entry as parseCidr reads it; empty entries are skipped. */
export function parseCidrList(s: string): Cidr[] {
  return s
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map(parseCidr);
}

// ---------------------------------------------------------------------------
// Classification

function rules(list: ReadonlyArray<readonly [string, string]>): Array<{ cidr: Cidr; what: string }> {
  return list.map(([text, what]) => ({ cidr: parseCidr(text), what }));
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

const [UNSPECIFIED_V6, LOOPBACK_V6, GLOBAL_UNICAST, MAPPED, TRANSLATED, COMPATIBLE, NAT64_WKP, NAT64_LOCAL, SIX_TO_FOUR, TEREDO] = [
  '::/128',
  '::1/128',
  '2000::/3',
  '::ffff:0:0/96',
  '::ffff:0:0:0/96',
  '::/96',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '2002::/16',
  '2001::/32',
].map(parseCidr) as [Cidr, Cidr, Cidr, Cidr, Cidr, Cidr, Cidr, Cidr, Cidr, Cidr];

function v4What(ip: ipaddr.IPv4): string | null {
  for (const r of V4_RULES) if (inCidr(ip, r.cidr)) return r.what;
  return null;
}

type Embedded = { v4: ipaddr.IPv4; form: string };
const v4At = (bytes: number[], at: number[]) => new ipaddr.IPv4(at.map((i) => bytes[i]));

/** Forms that are the same host as the embedded IPv4 (allow-list applies to it). */
function sameHostV4(ip: ipaddr.IPv6): Embedded | null {
  const b = ip.toByteArray();
  const low = v4At(b, [12, 13, 14, 15]);
  if (inCidr(ip, MAPPED)) return { v4: low, form: 'an IPv4-mapped' };
  if (inCidr(ip, TRANSLATED)) return { v4: low, form: 'an IPv4-translated' };
  // :: and ::1 are themselves, not 0.0.0.0 and 0.0.0.1.
  if (inCidr(ip, COMPATIBLE) && !inCidr(ip, UNSPECIFIED_V6) && !inCidr(ip, LOOPBACK_V6)) {
    return { v4: low, form: 'an IPv4-compatible' };
  }
  return null;
}

// RFC 6052 section 2.2: where the IPv4 bytes sit under each prefix length
// (byte 8, the "u" octet, is skipped), and the suffix after them must be zero.
const RFC6052_LAYOUTS: ReadonlyArray<{ at: number[]; zeroFrom: number }> = [
  { at: [6, 7, 9, 10], zeroFrom: 11 }, // /48
  { at: [7, 9, 10, 11], zeroFrom: 12 }, // /56
  { at: [9, 10, 11, 12], zeroFrom: 13 }, // /64
  { at: [12, 13, 14, 15], zeroFrom: 16 }, // /96
];

/** IPv4 addresses that a v6 address carries for routing purposes. */
function embeddedV4(ip: ipaddr.IPv6): Embedded[] {
  const same = sameHostV4(ip);
  if (same) return [same];
  const b = ip.toByteArray();
  if (inCidr(ip, NAT64_WKP)) return [{ v4: v4At(b, [12, 13, 14, 15]), form: 'a NAT64' }];
  if (inCidr(ip, NAT64_LOCAL)) {
    // Local-use NAT64 may use any RFC 6052 prefix length and we cannot know
    // which; judge every layout consistent with the address.
    return RFC6052_LAYOUTS.filter((l) => b.slice(l.zeroFrom).every((x) => x === 0)).map((l) => ({
      v4: v4At(b, l.at),
      form: 'a local-use NAT64',
    }));
  }
  if (inCidr(ip, SIX_TO_FOUR)) return [{ v4: v4At(b, [2, 3, 4, 5]), form: 'a 6to4' }];
  if (inCidr(ip, TEREDO)) {
    return [
      { v4: v4At(b, [4, 5, 6, 7]), form: 'a Teredo (server)' },
      { v4: new ipaddr.IPv4(b.slice(12).map((x) => x ^ 0xff)), form: 'a Teredo (client)' },
    ];
  }
  return [];
}

function classifyV6(ip: ipaddr.IPv6, text: string): string | null {
  if (inCidr(ip, UNSPECIFIED_V6)) return `${text} is the unspecified address`;
  if (inCidr(ip, LOOPBACK_V6)) return `${text} is a loopback address`;
  const embedded = embeddedV4(ip);
  for (const e of embedded) {
    const what = v4What(e.v4);
    if (what !== null) return `${text} is ${e.form} form of ${e.v4.toString()}, ${what}`;
  }
  for (const r of V6_RULES) if (inCidr(ip, r.cidr)) return `${text} is ${r.what}`;
  // Embedding forms live outside 2000::/3 but carry a public IPv4 here.
  if (embedded.length === 0 && !inCidr(ip, GLOBAL_UNICAST)) {
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
  if (isV4(p)) {
    const what = v4What(p);
    return what === null ? null : `${text} is ${what}`;
  }
  const zoned = p.zoneId !== undefined;
  const reason = classifyV6(p, zoned ? text.slice(0, text.indexOf('%')) : text);
  if (reason !== null) return reason;
  // A zone only makes sense for scoped (non-global) addresses.
  return zoned ? `${text} has a zone id (scoped addresses are refused)` : null;
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

  private allowed(ip: Ip): boolean {
    if (this.allow.some((c) => inCidr(ip, c))) return true;
    // ::ffff:127.0.0.1 is 127.0.0.1, so an IPv4 entry covers it too.
    const same = isV4(ip) ? null : sameHostV4(ip);
    return same !== null && this.allow.some((c) => inCidr(same.v4, c));
  }
}
