// Real processes on loopback: the built apps under dist/ run as children of the tests.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:process',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/process/**/*.spec.ts'],
  testTimeout: 60_000,
};
