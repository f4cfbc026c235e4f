// The images on this machine's Docker engine: containers through Testcontainers and the compose
// file (src/containers). The images are those built by each app's `image` target. The Swarm stack
// on the same engine (src/swarm/one-node) has a config of its own, jest.swarm.config.js, run after
// this one by the same target: it must never run beside these suites.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:containers',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/containers/**/*.spec.ts'],
  testTimeout: 180_000,
  // Two files at a time: the suites mostly wait on the engine and on the service's timers, and each
  // labels, names and removes only what it made. (Nx runs this target alone.)
  maxWorkers: 2,
  // No Ryuk (it cannot be pulled here): every suite removes its own containers and networks, and
  // global setup/teardown remove anything labelled tsr.e2e or any tsre2e* compose project left over.
  setupFiles: ['<rootDir>/src/support/containers/env.ts'],
  globalSetup: '<rootDir>/src/support/containers/global-setup.ts',
  globalTeardown: '<rootDir>/src/support/containers/global-teardown.ts',
};
