// Classifier only: no sockets are opened in this file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressGuard, AddressRefusedError, normalizeIpLiteral, parseCidrList, refusalReason } from '../../src/net/addressGuard';

const open = new AddressGuard([]);

// [address, expected word in the reason]
const REFUSED: Array<[string, string]> = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['0.0.0.0', 'this network'],
  ['0.1.2.3', 'this network'],
  ['::', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.255', 'carrier-grade NAT'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['240.0.0.1', 'reserved'],
  ['254.1.2.3', 'reserved'],
  ['192.0.0.8', 'IETF protocol'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456:789a::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'site-local'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:2::1', 'benchmarking'],
  ['100::1', 'discard-only'],
  ['1::1', 'not a global unicast'],
  // Embedded IPv4 forms are judged by the IPv4 they carry.
  ['::ffff:127.0.0.1', 'IPv4-mapped form of 127.0.0.1, a loopback'],
  ['::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1'],
  ['::ffff:10.1.2.3', 'IPv4-mapped form of 10.1.2.3, a private'],
  ['::ffff:169.254.169.254', 'IPv4-mapped form of 169.254.169.254'],
  ['::ffff:0.0.0.0', 'IPv4-mapped form of 0.0.0.0'],
  ['::127.0.0.1', 'IPv4-compatible form of 127.0.0.1'],
  ['::192.168.0.1', 'IPv4-compatible form of 192.168.0.1'],
  ['::ffff:0:127.0.0.1', 'IPv4-translated form of 127.0.0.1'],
  ['::ffff:0:a00:1', 'IPv4-translated form of 10.0.0.1'],
  ['64:ff9b::127.0.0.1', 'NAT64 form of 127.0.0.1'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 form of 169.254.169.254'],
  ['64:ff9b:1::10.0.0.1', 'local-use NAT64 form of 10.0.0.1'],
  ['64:ff9b:1:7f00:0:100::', 'local-use NAT64 form of 127.0.0.1'], // RFC 6052 /48 layout
  ['2002:7f00:1::1', '6to4 form of 127.0.0.1'],
  ['2002:c0a8:101::', '6to4 form of 192.168.1.1'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo (client) form of 192.0.2.45'],
  // Odd literals denote the address they spell.
  ['2130706433', '127.0.0.1 is a loopback'],
  ['0x7f000001', '127.0.0.1 is a loopback'],
  ['0177.0.0.1', '127.0.0.1 is a loopback'],
  ['127.1', '127.0.0.1 is a loopback'],
  ['127.0.1', '127.0.0.1 is a loopback'],
  ['0x7f.1', '127.0.0.1 is a loopback'],
  ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
  ['0', '0.0.0.0'],
  ['[::1]', 'loopback'],
  // Scoped addresses.
  ['fe80::1%eth0', 'link-local'],
  ['2606:4700:4700::1111%eth0', 'zone id'],
  // Not IP literals at all: fail closed.
  ['localhost', 'not an IP address'],
  ['1.2.3.4.5', 'not an IP address'],
  ['', 'not an IP address'],
];

const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '100.63.255.255', // just below CGNAT
  '100.128.0.0', // just above CGNAT
  '172.15.255.255',
  '172.32.0.0',
  '169.253.255.255',
  '198.17.255.255',
  '198.20.0.0',
  '223.255.255.255',
  '192.0.1.1',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '64:ff9b::8.8.8.8',
  '64:ff9b:1::8.8.8.8',
  '2002:808:808::1',
  '134744072', // 8.8.8.8 as a decimal literal
];

describe('refusalReason / AddressGuard.check without allow-list', () => {
  for (const [ip, word] of REFUSED) {
    it(`refuses ${JSON.stringify(ip)} (${word})`, () => {
      const v = open.check(ip);
      assert.equal(v.allowed, false);
      assert.ok(!v.allowed && v.reason.includes(word), `reason was: ${!v.allowed ? v.reason : ''}`);
      assert.ok(refusalReason(ip)?.includes(word));
    });
  }
  for (const ip of ALLOWED) {
    it(`allows ${ip}`, () => {
      assert.deepEqual(open.check(ip), { allowed: true });
      assert.equal(refusalReason(ip), null);
    });
  }
  it('gives a readable reason', () => {
    assert.deepEqual(open.check('127.0.0.1'), { allowed: false, reason: '127.0.0.1 is a loopback address' });
  });
});

describe('normalizeIpLiteral', () => {
  const cases: Array<[string, string | null]> = [
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['4294967295', '255.255.255.255'],
    ['4294967296', null],
    ['256.0.0.1', null],
    ['1.2.3.08', null], // "08" is not octal
    ['1.2.3.4.5', null],
    ['example.com', null],
    ['1.2.3.example', null],
    ['[::1]', '::1'],
    ['::FFFF:127.0.0.1', '::ffff:7f00:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['[127.0.0.1]', null],
    ['::1::1', null],
    [' 127.0.0.1', null],
    // ipaddr.js alone would read these as other addresses.
    ['::127.0.0.1', '::7f00:1'], // not ::ffff:7f00:1
    ['[::10.0.0.1]', '::a00:1'],
    ['::ffff:0177.0.0.1', null], // not 177.0.0.1
    ['::ffff:127.1', null],
    ['fe80::1%eth_0.5', 'fe80::1%eth_0.5'],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => {
      assert.equal(normalizeIpLiteral(input), want);
    });
  }
  it('agrees with WHATWG URL host parsing for odd literals', () => {
    for (const h of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '127.0.1', '0x7f.1', '0xa9.0xfe.43518']) {
      assert.equal(normalizeIpLiteral(h), new URL(`http://${h}/`).hostname, h);
    }
    for (const h of ['[::ffff:127.0.0.1]', '[64:ff9b::10.0.0.1]', '[2001:DB8:0:0::1]', '[::127.0.0.1]']) {
      assert.equal(`[${normalizeIpLiteral(h)}]`, new URL(`http://${h}/`).hostname, h);
    }
  });
});

describe('allow-list', () => {
  it('opens 127.0.0.2/32 but not 127.0.0.1', () => {
    const g = new AddressGuard(parseCidrList('127.0.0.2/32'));
    assert.deepEqual(g.check('127.0.0.2'), { allowed: true });
    assert.deepEqual(g.check('::ffff:127.0.0.2'), { allowed: true }); // same host
    assert.equal(g.check('127.0.0.1').allowed, false);
    assert.equal(g.check('127.0.0.3').allowed, false);
    assert.equal(g.check('::ffff:127.0.0.1').allowed, false);
    assert.equal(g.check('10.0.0.1').allowed, false);
    assert.deepEqual(g.check('8.8.8.8'), { allowed: true });
  });
  it('entries win over refusals, v4 and v6', () => {
    const g = new AddressGuard(parseCidrList('10.0.0.0/8, 169.254.169.254, fd00::/8, fe80::/10'));
    for (const ip of ['10.1.2.3', '169.254.169.254', 'fd00::5', 'fe80::1%eth0', '012.1']) {
      assert.deepEqual(g.check(ip), { allowed: true }, ip);
    }
    for (const ip of ['169.254.169.253', 'fc00::1', '192.168.0.1', '2001:0:4136:e378:8000:63bf:3fff:fdd2']) {
      assert.equal(g.check(ip).allowed, false, ip);
    }
  });
  it('an IPv6 entry does not open IPv4 and vice versa', () => {
    const g = new AddressGuard(parseCidrList('::/0'));
    assert.equal(g.check('127.0.0.1').allowed, false);
    assert.deepEqual(g.check('::1'), { allowed: true });
    const g4 = new AddressGuard(parseCidrList('0.0.0.0/0'));
    assert.equal(g4.check('::1').allowed, false);
  });
  it('fromList accepts undefined and empty', () => {
    assert.equal(AddressGuard.fromList(undefined).allowList.length, 0);
    assert.equal(AddressGuard.fromList('').check('127.0.0.1').allowed, false);
  });
});

describe('parseCidrList', () => {
  it('parses v4, v6 and bare addresses', () => {
    const list = parseCidrList(' 10.0.0.0/8 , 127.0.0.2,::1, 2001:db8::/32, 0.0.0.0/0 ,');
    assert.deepEqual(
      list.map((c) => c.text),
      ['10.0.0.0/8', '127.0.0.2/32', '::1/128', '2001:db8::/32', '0.0.0.0/0'],
    );
    assert.deepEqual(
      list.map((c) => c.family),
      [4, 4, 6, 6, 4],
    );
  });
  it('reads a dotted IPv6 tail as the address it spells', () => {
    assert.deepEqual(
      parseCidrList('::10.0.0.0/104, ::ffff:10.0.0.0/104').map((c) => c.text),
      ['::a00:0/104', '::ffff:a00:0/104'],
    );
    const g = new AddressGuard(parseCidrList('::10.0.0.0/104'));
    assert.deepEqual(g.check('::10.1.2.3'), { allowed: true });
    assert.equal(g.check('::ffff:10.1.2.3').allowed, false);
  });
  it('returns [] for an empty string', () => {
    assert.deepEqual(parseCidrList(''), []);
    assert.deepEqual(parseCidrList(' , '), []);
  });
  const bad: Array<[string, string, RegExp]> = [
    ['10.0.0.0/8,foo', 'foo', /not an IPv4 or IPv6/],
    ['1.2.3.4/33', '1.2.3.4/33', /0-32/],
    ['::/129', '::/129', /0-128/],
    ['1.2.3.4/', '1.2.3.4/', /prefix length/],
    ['1.2.3.4/x', '1.2.3.4/x', /prefix length/],
    ['1.2.3.4/-1', '1.2.3.4/-1', /prefix length/],
    ['10.0.0.1/8', '10.0.0.1/8', /did you mean 10\.0\.0\.0\/8/],
    ['127.1', '127.1', /not an IPv4 or IPv6/],
    ['fe80::1%eth0', 'fe80::1%eth0', /not an IPv4 or IPv6/],
    ['10.0.0.0/8/8', '10.0.0.0/8/8', /prefix length/],
    ['999.1.1.1', '999.1.1.1', /not an IPv4 or IPv6/],
    ['2001:db8::1/32', '2001:db8::1/32', /did you mean 2001:db8::\/32/],
    ['::ffff:0177.0.0.1', '::ffff:0177.0.0.1', /not an IPv4 or IPv6/],
  ];
  for (const [input, entry, why] of bad) {
    it(`rejects ${JSON.stringify(input)} naming the entry`, () => {
      assert.throws(
        () => parseCidrList(input),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.ok(err.message.includes(`"${entry}"`), err.message);
          assert.match(err.message, why);
          return true;
        },
      );
    });
  }
});

describe('AddressRefusedError', () => {
  it('carries host, address and reason', () => {
    const e = new AddressRefusedError('rebind.test', '127.0.0.1', '127.0.0.1 is a loopback address');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'AddressRefusedError');
    assert.equal(e.host, 'rebind.test');
    assert.equal(e.address, '127.0.0.1');
    assert.equal(e.reason, '127.0.0.1 is a loopback address');
    assert.match(e.message, /rebind\.test \(127\.0\.0\.1\).*loopback/);
  });
});
