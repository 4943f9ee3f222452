import { existsSync } from 'node:fs';
import path from 'node:path';

/** The folder holding package.json, found from compiled or source locations alike. */
export function repoRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}
