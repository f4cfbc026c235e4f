// One flat config for the workspace; @nx/eslint/plugin gives every project a `lint` target.
// The point is the architecture: a project imports another only through its path alias
// (tsconfig.base.json), and only along the arrows the tags allow.
const nx = require('@nx/eslint-plugin');
const prettier = require('eslint-plugin-prettier/recommended');

/** Who may import whom, by tag (see docs/development.md, "Layout"). Libraries never import apps, tools or tests. */
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib'] },
  // The tsr family (libs/tsr/*), in layers: each stands only on the layers named below it, so no
  // import runs back up (runtime -> monitoring) and none skips a layer (monitoring -> zmtp).
  // The sockets and the protocol stand on nothing of ours: either is publishable as it is.
  { sourceTag: 'layer:transport', onlyDependOnLibsWithTags: ['layer:transport'] },
  { sourceTag: 'layer:protocol', onlyDependOnLibsWithTags: ['layer:protocol'] },
  { sourceTag: 'layer:runtime', onlyDependOnLibsWithTags: ['layer:runtime', 'layer:transport', 'layer:protocol'] },
  { sourceTag: 'layer:monitoring', onlyDependOnLibsWithTags: ['layer:monitoring', 'layer:runtime'] },
  // Traces (OpenTelemetry) stand on the protocol alone: the client, the worker and the broker use them.
  { sourceTag: 'layer:telemetry', onlyDependOnLibsWithTags: ['layer:telemetry', 'layer:protocol'] },
];

const boundaries = (allow = [], enforceBuildableLibDependency = true) => [
  'error',
  { enforceBuildableLibDependency, allow, depConstraints },
];

module.exports = [
  { ignores: ['**/dist', '**/node_modules', 'tmp', 'coverage', '**/*.d.ts', 'apps/service-e2e/src/process/seed/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.js'],
    rules: { '@nx/enforce-module-boundaries': boundaries() },
  },
  {
    // The one thing of an app another project may import: its option specs (`@tsr/<app>/options`),
    // which the deployment tests check the manifests against and the configuration reference is
    // generated from (tools/docs, which checks it too). Anything else of an app stays inside it.
    files: ['docker/deploy/**/*.ts', 'tools/docs/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['^@tsr/(broker|worker|client)/options$']) },
  },
  {
    // The npm packages (scope:package) are built with the workspace code they import bundled in
    // (tools/packaging/build-package.ts, which fails if anything unpublished is left to resolve):
    // so they may import the non-buildable libraries of the tsr family.
    files: ['libs/worker/**/*.ts', 'libs/client/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries([], false) },
  },
  {
    // The programs and their library never import the test support, not even from their specs: a
    // dependency of a project is a dependency of its bundle and image for Nx, so a change to the
    // test support would make every image "affected". Their specs use the library's own helpers.
    files: [
      'apps/broker/src/**/*.ts',
      'apps/worker/src/**/*.ts',
      'apps/client/src/**/*.ts',
      'libs/tsr/*/src/**/*.ts',
      'libs/worker/src/**/*.ts',
      'libs/client/src/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@tsr/testing', message: 'test support is for the e2e suites, tools and the benchmark (nx affected stays exact)' },
          ],
        },
      ],
    },
  },
  {
    // Tooling configuration, not code of a project: jest configs extend the workspace's preset.
    files: ['**/jest.config.js', '**/jest.*.config.js'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    // No-op callbacks (`let stop = () => {}` until there is something to stop) are intended here,
    // and so is `map.get(k)?.add(v) ?? map.set(k, new Set([v]))`.
    rules: {
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true }],
    },
  },
  // Formatting is Prettier's (.prettierrc.json), checked as a lint rule: `npx prettier --write .` fixes it.
  prettier,
  {
    // CommonJS is this workspace's module system (jest configs, docker/base scripts).
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];
