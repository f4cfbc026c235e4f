// Real processes on loopback: the built apps under dist/ run as children of the tests.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:process',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/process/**/*.spec.ts'],
  testTimeout: 60_000,
  // Two files at a time: alone, the suite keeps about 0.6 of a core busy (it mostly waits on
  // timers, heartbeats and deadlines), and every file starts its own processes on ports of its own.
  // (Nx runs this target alone.)
  maxWorkers: 2,
};
