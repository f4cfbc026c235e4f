// The Swarm stack on this machine's Docker engine as a one-node swarm (src/swarm/one-node), with
// the container suites' setup. Alone: `docker swarm leave` makes the engine's DNS forget the names
// of containers then running on user-defined networks (moby/moby#45144), which would break the
// container suites' services mid-test, so the `container-test` target runs it after them.
module.exports = {
  ...require('./jest.containers.config.js'),
  displayName: 'service-e2e:swarm',
  testMatch: ['<rootDir>/src/swarm/one-node/**/*.spec.ts'],
  maxWorkers: 1,
};
