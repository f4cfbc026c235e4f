// The workspace's own rules: module boundaries, the CI workflow, what `nx affected` picks.
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'tools',
  rootDir: __dirname,
  testMatch: ['<rootDir>/workspace/**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.tools.json' }] },
  testTimeout: 120_000,
};
