// Real containers through Testcontainers: the images built by each app's `image` target.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:containers',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/containers/**/*.spec.ts'],
  testTimeout: 180_000,
  // No Ryuk (it cannot be pulled here): every suite removes its own containers and networks, and
  // global setup/teardown remove anything labelled tsr.e2e or any tsre2e* compose project left over.
  setupFiles: ['<rootDir>/src/support/containers/env.ts'],
  globalSetup: '<rootDir>/src/support/containers/global-setup.ts',
  globalTeardown: '<rootDir>/src/support/containers/global-teardown.ts',
};
