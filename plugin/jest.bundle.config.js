// Checks the built bundle (dist/module.js), not the sources: run `npm run build` first.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = { ...base, testMatch: ['<rootDir>/test/**/*.test.{ts,tsx}'] };
