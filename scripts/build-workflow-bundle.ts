// Prebuilds the workflow bundle once at build time, so production workers and
// the whole test run load the same code without bundling at start.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot } from '../src/repoRoot';

export const WORKFLOW_BUNDLE_PATH = path.join(repoRoot(), 'dist', 'workflow-bundle.js');

async function main() {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(repoRoot(), 'dist', 'workflows', 'index.js'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  console.log(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
