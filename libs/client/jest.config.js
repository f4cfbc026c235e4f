module.exports = { ...require('../../jest.preset.js'), displayName: 'client-lib', rootDir: __dirname };
