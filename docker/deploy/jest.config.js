// Structural checks of the Kubernetes manifests and the Swarm stack (no cluster needed).
module.exports = { ...require('../../jest.preset.js'), displayName: 'deploy', rootDir: __dirname, testMatch: ['<rootDir>/*.spec.ts'] };
