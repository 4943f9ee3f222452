import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `n` consecutive loopback ports that were all free a moment ago (for the
 * Temporal server on PostgreSQL, which takes TEMPORAL_PORT..+7). Tries random
 * bases above the kernel's usual ephemeral range start.
 */
export async function freePortRange(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const held: net.Server[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const srv = net.createServer();
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(base + i, '127.0.0.1', () => resolve());
        });
        held.push(srv);
      }
      return base;
    } catch {
      /* one was taken: another base */
    } finally {
      await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    }
  }
  throw new Error(`no ${n} consecutive free loopback ports found`);
}

/** TCP sockets `pid` listens on (IPv4 and IPv6), from /proc. */
export function listeningSockets(pid: number): Array<{ address: string; port: number }> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const out: Array<{ address: string; port: number }> = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // st 0A = LISTEN; local address is hex ip:port, the ip in host byte order per 32-bit word.
      if (f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [hexIp, hexPort] = f[1]!.split(':');
      out.push({ address: decodeProcIp(hexIp!), port: parseInt(hexPort!, 16) });
    }
  }
  return out;
}

function decodeProcIp(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse());
  const bytes = Buffer.concat(words);
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'))) return [...bytes.subarray(12)].join('.');
  return (bytes.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}
