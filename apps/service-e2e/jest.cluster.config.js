// The Swarm stack on a real three-node swarm on this machine (src/swarm/three-node, with the fixture
// in src/support/cluster): each suite brings up its own three nodes, deploys
// docker/deploy/swarm/stack.yml and removes it all again. The fixture's own specs
// (src/support/cluster/*.spec.ts) run here too.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'service-e2e:cluster',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/swarm/three-node/**/*.spec.ts', '<rootDir>/src/support/cluster/**/*.spec.ts'],
  testTimeout: 240_000,
  // Two clusters at a time: each has its own run id, namespaces, subnet and engines, and mostly
  // waits on the swarm's own timers (a node declared down after about 12 s). (Nx runs this target
  // alone.) Except the broker's node killed, which runs alone (jest.cluster-alone.config.js).
  testPathIgnorePatterns: ['/node_modules/', 'broker-node-killed'],
  maxWorkers: 2,
};
