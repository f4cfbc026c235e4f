// The three-node suite that runs alone, after the others (`cluster-test`): the broker's node
// killed times the other broker's answers to 2 s after the kill, about 1.1 s alone and 1.5 s
// beside another cluster.
module.exports = {
  ...require('./jest.cluster.config.js'),
  displayName: 'service-e2e:cluster-alone',
  testMatch: ['<rootDir>/src/swarm/three-node/broker-node-killed.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
};
