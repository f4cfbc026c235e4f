// The images on this machine's Docker engine: containers through Testcontainers and the compose
// file (src/containers), and the Swarm stack on the engine as a one-node swarm (src/swarm/one-node).
// The images are those built by each app's `image` target.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:containers',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/containers/**/*.spec.ts', '<rootDir>/src/swarm/one-node/**/*.spec.ts'],
  testTimeout: 180_000,
  // No Ryuk (it cannot be pulled here): every suite removes its own containers and networks, and
  // global setup/teardown remove anything labelled tsr.e2e or any tsre2e* compose project left over.
  setupFiles: ['<rootDir>/src/support/containers/env.ts'],
  globalSetup: '<rootDir>/src/support/containers/global-setup.ts',
  globalTeardown: '<rootDir>/src/support/containers/global-teardown.ts',
};
