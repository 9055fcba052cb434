// ESLint flat config. `npm run lint` runs it with Prettier's check; `.ci/run` runs `npm run lint`.
// TypeScript (src/, test/, bench/, harness/): typescript-eslint's strict, type-checked rules, with
// the types of tsconfig.json. The scripts and this file: ESLint's recommended rules, untyped.
// eslint-config-prettier comes last and turns off every rule Prettier decides instead.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'coverage/', 'charts/', 'deploy/', 'dashboards/', 'data/', 'test/fixtures/']),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers (and bigint µJ totals) and booleans in messages and exposition lines are the norm
      // here: their String() is exactly what is meant. Objects, null and undefined stay errors.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // node:test's test(), describe() and it() return promises that the runner itself awaits;
      // every other promise must be awaited, returned, or voided on purpose.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      // `(x) => res.end(x)` and `() => resolve()` as callbacks: the shorthand returns what the
      // callee returns, which the caller ignores. Statements that use a void value stay errors.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // A leading underscore marks a name that is unused on purpose: a parameter an interface
      // requires, a key taken out of an object with `...rest` (tsc's noUnused* read it the same way).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // tsconfig.json keeps noUncheckedIndexedAccess off, so TypeScript types `record[key]`,
      // `array[0]`, regex groups, JSON.stringify() and definitely-assigned test fixtures as always
      // present. The code guards them (`?? ''`, `=== undefined`, `?.`) because at run time they are
      // not: absent labels, empty /proc/cpuinfo blocks, optional groups, a before() hook that
      // failed. This rule calls those guards unnecessary; removing them would change behaviour on
      // exactly the inputs they exist for, and casting each one would only hide the same fact.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `let server; const stop = () => server?.stop(); ... server = await start()`: a signal
      // handler or request callback is installed before the object it reaches exists (signals are
      // handled from the first moment). A `const` there would throw in its temporal dead zone.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `catch (err) { reject(err); }` hands a caught error on unchanged; wrapping it would only
      // hide its type. Rejecting with a literal or an object is still an error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // deploy.test.ts reads the rendered Kubernetes manifests loosely, as `Record<string, any>`, on
    // purpose (said where the type is declared): validateAll() first checks every object against
    // its real schema (kubernetes-models), and typing each of the paths the checks then read would
    // only restate those schemas. The type-safety rules that exist to flag `any` stay on everywhere else.
    files: ['test/integration/deploy.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended],
    // The Node.js globals these scripts use (the `globals` package would be one more dependency).
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
  },
  prettier,
);
