// Extends the create-plugin ESLint configuration in .config/ (do not edit that folder) with
// type-aware typescript-eslint rules and the house rules:
// https://grafana.com/developers/plugin-tools/how-to-guides/extend-configurations#extend-the-eslint-config
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

import baseConfig from './.config/eslint.config.mjs';

export default defineConfig([
  {
    ignores: ['dist/', 'node_modules/', 'coverage/', '.config/', '**/.eslintcache'],
  },
  ...baseConfig,
  {
    files: ['src/**/*.{ts,tsx}', 'test/**/*.{ts,tsx}', 'jest.polyfills.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: './tsconfig.json',
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.browser },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
      // Off until the editors move from Select to Combobox (@grafana/ui 12 deprecates Select; 5
      // uses) and DataSourceSettings.database / DataQuery.id leave the test fixtures.
      '@typescript-eslint/no-deprecated': 'off',
    },
  },
  {
    files: ['src/**/*.test.{ts,tsx}', 'src/test/**', 'test/**', 'jest.*.ts', '*.config.ts'],
    languageOptions: { globals: { ...globals.jest, ...globals.node } },
    rules: {
      // Test doubles stand in for Grafana's services with partial objects.
      '@typescript-eslint/unbound-method': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
]);
