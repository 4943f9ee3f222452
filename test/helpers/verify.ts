import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const SCRIPT = path.join(__dirname, '..', '..', '..', 'test', 'helpers', 'verify_signature.py');

/** Runs the Python verifier (hmac.compare_digest), written apart from our signer. */
export async function verifyWithPython(secret: string, body: Buffer, signature: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-sig-'));
  try {
    const file = path.join(dir, 'body');
    writeFileSync(file, body);
    const { stdout } = await execFileP('python3', [SCRIPT, secret, file, signature]);
    return { ok: true, output: stdout.trim() };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: string }).stdout ?? err) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const FIRECRAWL_SCRIPT = path.join(path.dirname(SCRIPT), 'verify_firecrawl.py');

/**
 * Runs the Python verifier of `X-Firecrawl-Signature` (sha256=<lowercase hex
 * HMAC-SHA256 of the exact body>), written apart from our signer. The body
 * goes through stdin, byte for byte. `ok` is the verifier's verdict; `output`
 * has its VALID/INVALID line and, when invalid, why.
 */
export function verifyFirecrawlWithPython(secret: string, body: Buffer | string, header: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [FIRECRAWL_SCRIPT, secret, header, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // 0 and 1 are verdicts; anything else means the check itself did not run.
      if (code === 0 || code === 1) resolve({ ok: code === 0, output: out.trim() });
      else reject(new Error(`verify_firecrawl.py exited with ${code}: ${out.trim()}`));
    });
    child.stdin.end(body);
  });
}
