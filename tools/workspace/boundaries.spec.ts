// The lint rules that keep the architecture, run through ESLint with the workspace's own config
// against probe files placed inside real projects (the files need not exist: lintText gets the path).
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { workspaceRoot } from '@tsr/testing';

// The config array itself, not its file: ESLint would load the file with a dynamic import, which
// Jest's module sandbox does not provide.
const eslint = new ESLint({ cwd: workspaceRoot, overrideConfigFile: true, overrideConfig: require(join(workspaceRoot, 'eslint.config.js')) });

/** The rule ids and messages ESLint reports for `code` as if it were the file `path`. */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(workspaceRoot, path) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('module boundaries (eslint.config.js)', () => {
  it.each([
    ['apps/worker/src/probe.ts', "import { parsers } from '@tsr/tsr';\nexport const p = parsers;\n"],
    ['apps/worker/src/probe.spec.ts', "import { freePort } from '@tsr/zmtp/testing';\nexport const f = freePort;\n"],
    ['docker/deploy/probe.spec.ts', "import { workerOptions } from '@tsr/worker/options';\nexport const o = workerOptions;\n"],
    ['tools/docs/probe.ts', "import { brokerOptions } from '@tsr/broker/options';\nexport const o = brokerOptions;\n"],
    ['tools/bench/probe.ts', "import { percentile } from '@tsr/tsr';\nexport const p = percentile;\n"],
  ])('lets %s import along the allowed arrows', async (path, code) => {
    expect(await problems(path, code)).toEqual([]);
  });

  it.each([
    ['an app reaching into another app', 'apps/worker/src/probe.ts', "import { BrokerCore } from '../../broker/src/broker-core';\nexport const b = BrokerCore;\n", /enforce-module-boundaries: .*relative/],
    ['a test reaching into tools by a relative path', 'apps/service-e2e/src/probe.spec.ts', "import { bundlePrograms } from '../../../tools/bench/bundle';\nexport const b = bundlePrograms;\n", /enforce-module-boundaries/],
    ['a library importing an app, even its options', 'libs/tsr/src/lib/probe.ts', "import { clientOptions } from '@tsr/client/options';\nexport const c = clientOptions;\n", /enforce-module-boundaries: (Imports of apps are forbidden|Circular dependency)/],
    ['a library importing test support', 'libs/tsr/src/lib/probe.ts', "import { freePort } from '@tsr/testing';\nexport const f = freePort;\n", /no-restricted-imports: .*test support is for the e2e suites/],
    ['an app shipping test support', 'apps/client/src/probe.ts', "import { freePort } from '@tsr/testing';\nexport const f = freePort;\n", /no-restricted-imports: .*test support is for the e2e suites/],
    ['an app\'s spec using test support', 'apps/broker/src/probe.spec.ts', "import { isListening } from '@tsr/testing';\nexport const l = isListening;\n", /no-restricted-imports: .*nx affected stays exact/],
    ['the benchmark importing an app\'s options', 'tools/bench/probe.ts', "import { brokerOptions } from '@tsr/broker/options';\nexport const o = brokerOptions;\n", /enforce-module-boundaries/],
    ['the benchmark importing an app', 'tools/bench/probe.ts', "import { LazyPirateClient } from '../../apps/client/src/lazy-pirate';\nexport const l = LazyPirateClient;\n", /enforce-module-boundaries/],
  ])('rejects %s', async (_what, path, code, expected) => {
    const found = await problems(path, code);
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});
