// Shared Jest settings: ts-jest on CommonJS, the workspace libraries resolved from source through
// the same path aliases as TypeScript (tsconfig.base.json), so no project repeats them.
const { delimiter, dirname } = require('node:path');
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.base.json');

// Nx runs jest through run-commands, which puts node's own directory first on PATH (npm-run-path).
// On the pinned Node (tools/node/pinned-node.sh, first on PATH in .ci/run) that directory holds node
// alone; on a distribution's node it is /usr/bin, which also holds Debian's older docker client
// (20.10: no swarm jobs in stack files): where the directory is on PATH anyway, keep it only in the
// user's place, so the suites run the same docker as the shell.
const nodeDir = dirname(process.execPath);
const dirs = (process.env.PATH ?? '').split(delimiter);
if (dirs.indexOf(nodeDir) !== dirs.lastIndexOf(nodeDir)) {
  process.env.PATH = dirs.filter((d, i) => d !== nodeDir || i === dirs.lastIndexOf(nodeDir)).join(delimiter);
}

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js'],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: `${__dirname}/` }),
};
