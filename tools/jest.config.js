module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'tools',
  rootDir: __dirname,
  testMatch: ['<rootDir>/bench/**/*.spec.ts'],
  moduleNameMapper: { '^@tsr/tsr$': '<rootDir>/../libs/tsr/src/index.ts' },
};
