// Extends the create-plugin Jest configuration in .config/ (do not edit that folder):
// https://grafana.com/developers/plugin-tools/how-to-guides/extend-configurations#extend-the-jest-config
// Unit tests render real components in jsdom with @testing-library/react, compiled by SWC.

// Dates in tests are UTC whatever the machine's zone.
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // Globals @grafana/* need while their modules load, before jest-setup.js runs.
  setupFiles: ['<rootDir>/jest.polyfills.ts'],
  transform: {
    ...base.transform,
    // Jest 30 loads the .mjs builds of some ES-module-only packages (d3-*): compile them too.
    '^.+\\.mjs$': base.transform['^.+\\.(t|j)sx?$'],
  },
  clearMocks: true,
};
