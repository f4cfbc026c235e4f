module.exports = { ...require('../../../jest.preset.js'), displayName: 'zmtp', rootDir: __dirname };
