// `npm run build`: the dashboard's static files go next to the compiled code
// (dist/src/web/assets), which is all a production image keeps.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../src/repoRoot';

const root = repoRoot();
cpSync(path.join(root, 'src', 'web', 'assets'), path.join(root, 'dist', 'src', 'web', 'assets'), { recursive: true });
