// ESLint flat config. Type-aware rules read tsconfig.json through the project
// service, so `npm run lint` sees the same program as `npm run typecheck`.
import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

// Code that runs in Temporal's workflow sandbox, or that workflow code imports,
// must be deterministic: it imports nothing that does I/O. Types may come from
// anywhere (`import type` is erased), values only from the zone itself,
// @temporalio/workflow, @temporalio/common and pure libraries.
const IO_PACKAGES = [
  ...new Set(builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/^node:/, '').split('/')[0])),
  'pg',
  'koa',
  '@koa/router',
  'undici',
  'playwright-core',
  'pino',
  'prom-client',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const ioPackagePattern = {
  regex: `^(node:|(${IO_PACKAGES.map(escape).join('|')})(/|$))`,
  allowTypeImports: true,
  message:
    'workflows/ and src/shared/ must stay deterministic: no Node builtins or I/O packages as values (Temporal workflow sandbox). Use `import type` for types.',
};

/** Directories under `zone` (itself included), each with its depth below it. */
function dirsUnder(zone) {
  const dirs = [{ dir: zone, depth: 0 }];
  for (const entry of readdirSync(path.join(root, zone), { recursive: true, withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const rel = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    dirs.push({ dir: rel, depth: rel.split('/').length - zone.split('/').length });
  }
  return dirs;
}

/**
 * One block per directory of a zone: a relative import that climbs out of the
 * zone (one `../` more than the file's depth below the zone root) may bring in
 * types only, except into the directories listed in `mayEnter` (paths relative
 * to the zone root's parent).
 */
function fence(zone, mayEnter) {
  const enter = mayEnter.length ? `(?!(${mayEnter.map(escape).join('|')})(/|$))` : '';
  return dirsUnder(zone).map(({ dir, depth }) => ({
    files: [`${dir}/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ioPackagePattern,
            {
              regex: `^(\\.\\./){${depth + 1}}${enter}`,
              allowTypeImports: true,
              message: `${zone}/ may import values only from ${[zone, ...mayEnter.map((d) => `${d}`)].join(', ')}, @temporalio/workflow, @temporalio/common and pure libraries; anything else as \`import type\` only (workflow determinism).`,
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'No dynamic import in workflow code: the workflow bundle must hold everything it runs.' },
        { selector: "CallExpression[callee.name='require']", message: 'No require in workflow code: use an import the linter can check.' },
      ],
    },
  }));
}

export default tseslint.config(
  {
    ignores: ['dist/', '.tools/', 'node_modules/', 'bench/results/', 'tools/', 'test/fixtures/', 'test/artifacts/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs'] },
        tsconfigRootDir: root,
      },
    },
    rules: {
      // Promises: an unawaited promise loses its rejection; a promise passed
      // where a void callback is expected (Koa, event emitters, timers) too.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs and reports top-level tests itself; their promises are
        // not the caller's to await (a subtest's `t.test()` still is).
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A new member of a union (job status, event type) must be handled
      // wherever the union is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Plain JavaScript (this file): not in tsconfig.json, so no type-aware rules.
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // Tests and the benchmark harness may assert what they have just checked,
    // poke at untyped payloads (fuzzing, malformed requests) and build
    // free-form JSON results.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  ...fence('workflows', ['src/shared']),
  ...fence('src/shared', []),
);
