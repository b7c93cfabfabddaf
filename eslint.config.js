// Lint setup for the whole repository: type-aware typescript-eslint rules over the
// service (tsconfig.json: src, test, bench, vitest configs) and the browser page
// (tsconfig.web.json: web/src), run by `npm test` before vitest.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'web/dist/', 'node_modules/', 'test/.fixtures/', 'coverage/', 'bench/.work/'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Explicit projects rather than the project service: the service would look up
        // tsconfig.json for web/src too, but the page has its own browser-only tsconfig.
        project: ['tsconfig.json', 'tsconfig.web.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // A leading underscore marks a name kept on purpose (an express error handler's
      // fourth argument, a field dropped from a copy by destructuring).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read parsed JSON bodies (supertest, fetch) whose shape the test itself checks.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // This file itself is plain JavaScript outside both tsconfigs.
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
