// A real multi-node Docker Swarm on this machine (the fixture in src/support/cluster): each suite
// brings up its own three nodes, deploys docker/deploy/swarm/stack.yml and removes it all again.
// The fixture's own specs (src/support/cluster/*.spec.ts) run here too.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:cluster',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/cluster/**/*.spec.ts', '<rootDir>/src/support/cluster/**/*.spec.ts'],
  testTimeout: 240_000,
};
