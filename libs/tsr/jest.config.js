module.exports = { ...require('../../jest.preset.js'), displayName: 'tsr', rootDir: __dirname, roots: ['<rootDir>/src'] };
