// ESLint (`npm run lint`): typescript-eslint's recommended type-checked rules on the
// TypeScript (src, test, the vitest configs), ESLint's recommended rules on the plain
// JavaScript (bench, bin, scripts, test fixtures, config files). Formatting is
// prettier's (`npm run format`), not a lint rule.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// A parameter or variable named `process` hides Node's global in its scope: a later
// process.exit() or process.env there would reach the wrong object. Name it for what it
// is (child, spawned, remote).
const noProcessShadow = {
  selector: [
    ':function > Identifier.params[name="process"]',
    'TSFunctionType > Identifier.params[name="process"]',
    'TSParameterProperty > Identifier.parameter[name="process"]',
    'VariableDeclarator > Identifier.id[name="process"]',
  ].join(', '),
  message: "Do not name a parameter or variable `process`: it hides Node's global.",
};

export default defineConfig(
  { ignores: ['dist/', 'reports/', '.stryker-tmp/', 'coverage/', 'bench-results/', '.scratch/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // tsconfig.test.json covers src, test and the vitest configs, so tests are
      // checked with the same types as the code.
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Omitting members by destructuring them beside a rest element is how this code
      // copies an object without some keys (`const { key: _key, ...rules } = user`).
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // A catch clause's value passed on as it is (`catch (error) { return
      // Promise.reject(error) }`) is typed unknown; rejecting with it creates no new
      // non-Error value. only-throw-error already allows unknown by default.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      'no-restricted-syntax': ['error', noProcessShadow],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.stringContaining, expect.any, ...) are typed
      // any: putting them in an expected object is what they are for.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // Plain JavaScript has no types to check: the recommended rules without type
    // information, and Node's globals.
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: { 'no-restricted-syntax': ['error', noProcessShadow] },
  },
);
