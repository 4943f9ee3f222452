import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';

/** A logger at info whose JSON lines are kept, parsed, for a test to read. */
export function captureLogs() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}
