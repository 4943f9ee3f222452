import { execFile } from 'node:child_process';
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
