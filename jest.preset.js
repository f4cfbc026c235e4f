// Shared Jest settings: ts-jest on CommonJS, the tsr library resolved from source.
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js'],
  moduleNameMapper: { '^@tsr/tsr$': '<rootDir>/../../libs/tsr/src/index.ts' },
};
