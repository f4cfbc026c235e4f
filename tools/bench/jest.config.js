const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'bench',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.bench.json' }] },
};
