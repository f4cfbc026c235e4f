// A real multi-node Docker Swarm on this machine (apps/service-e2e/src/support/cluster): each suite
// brings up its own three nodes, deploys docker/deploy/swarm/stack.yml and removes it all again.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:cluster',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/cluster/**/*.spec.ts'],
  testTimeout: 240_000,
};
