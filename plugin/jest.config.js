// Unit tests: real components rendered in jsdom with @testing-library/react, compiled by SWC.

// Packages @grafana/* pull in that ship only ES modules: SWC compiles them to CommonJS for Jest.
const esModules = [
  '@wojtekmaj/date-utils',
  'd3',
  'd3-[a-z-]+',
  'get-user-locale',
  'marked',
  'memoize',
  'mimic-function',
  'ol',
  'react-calendar',
  'react-colorful',
  'uuid',
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  setupFiles: ['<rootDir>/jest.polyfills.ts'],
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts'],
  transform: {
    '^.+\\.(m?js|jsx|tsx?)$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', tsx: true },
          transform: { react: { runtime: 'classic' } },
          target: 'es2020',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules.join('|')})/)`],
  moduleNameMapper: {
    '\\.(css|scss|sass)$': '<rootDir>/src/__mocks__/style.ts',
    '^react-inlinesvg$': '<rootDir>/src/__mocks__/react-inlinesvg.tsx',
  },
  clearMocks: true,
};
