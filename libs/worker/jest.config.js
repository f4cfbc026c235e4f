module.exports = { ...require('../../jest.preset.js'), displayName: 'worker-lib', rootDir: __dirname };
