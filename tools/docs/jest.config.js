// The documentation's own checks: the generated configuration reference, and every relative link.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'docs',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.docs.json' }] },
};
