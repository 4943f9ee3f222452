// A throwaway certificate authority for the test run, so HTTPS receivers on
// loopback are trusted the way a real one would be: through Node's own CA
// store (NODE_EXTRA_CA_CERTS), not through a per-client `ca` option or
// NODE_TLS_REJECT_UNAUTHORIZED=0, which would let the code under test skip
// certificate checks without any test noticing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where test/run.ts tells its test processes the key and certificates are. */
export const TLS_DIR_ENV = 'HOOKSHOT_TEST_TLS_DIR';

const FILES = { key: 'server.key', cert: 'server.pem', ca: 'ca.pem', bundle: 'extra-ca.pem' } as const;

export interface TestTls {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate for 127.0.0.1, ::1 and localhost. */
  cert: string;
  /** PEM certificate of the run's CA (the one NODE_EXTRA_CA_CERTS trusts). */
  ca: string;
}

export interface GeneratedTls {
  dir: string;
  /** The file to pass as NODE_EXTRA_CA_CERTS. */
  caBundle: string;
  /** Environment for the test processes. */
  env: Record<string, string>;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed while making the test certificates: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/**
 * Makes a CA and a server certificate signed by it in a new temp dir (EC
 * P-256: a few milliseconds, where RSA would take seconds on a busy box).
 * Called once by test/run.ts, before the test processes start, because Node
 * reads NODE_EXTRA_CA_CERTS only at process start.
 */
export function generateTestTls(): GeneratedTls {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-tls-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    openssl(dir, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      FILES.ca,
      '-days',
      '3',
      '-subj',
      '/CN=Hookshot throwaway test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl(dir, ['req', '-new', ...ec, '-keyout', FILES.key, '-out', 'server.csr', '-subj', '/CN=localhost']);
    writeFileSync(
      path.join(dir, 'server.ext'),
      [
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'authorityKeyIdentifier=keyid',
      ].join('\n') + '\n',
    );
    // A random serial: two runs at once must not issue look-alike certificates.
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      FILES.ca,
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '3',
      '-extfile',
      'server.ext',
      '-out',
      FILES.cert,
    ]);
    rmSync(path.join(dir, 'ca.key')); // nothing may sign with it after this
    // NODE_EXTRA_CA_CERTS takes one file: keep trusting what the caller already trusted.
    const inherited = process.env.NODE_EXTRA_CA_CERTS;
    const extra = inherited && existsSync(inherited) ? readFileSync(inherited, 'utf8') : '';
    const caBundle = path.join(dir, FILES.bundle);
    writeFileSync(caBundle, readFileSync(path.join(dir, FILES.ca), 'utf8') + (extra ? `\n${extra}` : ''));
    return {
      dir,
      caBundle,
      env: { NODE_EXTRA_CA_CERTS: caBundle, [TLS_DIR_ENV]: dir },
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

let cached: TestTls | undefined;

/** The run's server key and certificates; only inside a test process started by test/run.ts. */
export function testTls(): TestTls {
  if (cached) return cached;
  const dir = process.env[TLS_DIR_ENV];
  if (!dir || !process.env.NODE_EXTRA_CA_CERTS) {
    throw new Error(
      `no test TLS material: ${TLS_DIR_ENV} and NODE_EXTRA_CA_CERTS are set by test/run.ts; ` +
        'run the tests through `npm test` / `npm run test:unit` (or `node dist/test/run.js`), not `node --test` directly',
    );
  }
  try {
    const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
    cached = { key: read(FILES.key), cert: read(FILES.cert), ca: read(FILES.ca) };
  } catch (err) {
    throw new Error(`test TLS material in ${dir} is unreadable (${(err as Error).message}); was the run's temp dir removed?`, { cause: err });
  }
  return cached;
}
