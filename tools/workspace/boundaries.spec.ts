// The lint rules that keep the architecture, run through ESLint with the workspace's own config
// against probe files placed inside real projects (the files need not exist: lintText gets the path).
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { workspaceRoot } from '@tsr/testing';

// The config array itself, not its file: ESLint would load the file with a dynamic import, which
// Jest's module sandbox does not provide.
const eslint = new ESLint({
  cwd: workspaceRoot,
  overrideConfigFile: true,
  overrideConfig: require(join(workspaceRoot, 'eslint.config.js')),
});

/** The rule ids and messages ESLint reports for `code` as if it were the file `path`. */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(workspaceRoot, path) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

/**
 * What the boundaries rule says of a project of `layer` importing a layer it may not; where the
 * layer above already imports it, the rule names the cycle first.
 */
const layer = (name: string, orCycle = false): RegExp =>
  new RegExp(
    `enforce-module-boundaries: (A project tagged with "layer:${name}" can only depend on libs tagged with${orCycle ? '|Circular dependency' : ''})`,
  );

describe('module boundaries (eslint.config.js)', () => {
  it.each([
    ['apps/worker/src/probe.ts', "import { parsers } from '@tsr/runtime';\nexport const p = parsers;\n"],
    ['apps/worker/src/probe.spec.ts', "import { freePort } from '@tsr/zmtp/testing';\nexport const f = freePort;\n"],
    ['docker/deploy/probe.spec.ts', "import { workerOptions } from '@tsr/worker/options';\nexport const o = workerOptions;\n"],
    ['tools/docs/probe.ts', "import { brokerOptions } from '@tsr/broker/options';\nexport const o = brokerOptions;\n"],
    ['tools/bench/probe.ts', "import { percentile } from '@tsr/runtime';\nexport const p = percentile;\n"],
    // the tsr family, layer on layer: runtime on the sockets and the protocol, monitoring on the runtime
    [
      'libs/tsr/runtime/src/lib/probe.ts',
      "import { ZmtpDealer } from '@tsr/zmtp';\nimport { HEARTBEAT } from '@tsr/protocol';\nexport const d = [ZmtpDealer, HEARTBEAT];\n",
    ],
    ['libs/tsr/monitoring/src/lib/probe.ts', "import { createTracer } from '@tsr/runtime';\nexport const t = createTracer;\n"],
  ])('lets %s import along the allowed arrows', async (path, code) => {
    expect(await problems(path, code)).toEqual([]);
  });

  it.each([
    [
      'an app reaching into another app',
      'apps/worker/src/probe.ts',
      "import { BrokerCore } from '../../broker/src/broker-core';\nexport const b = BrokerCore;\n",
      /enforce-module-boundaries: .*relative/,
    ],
    [
      'a test reaching into tools by a relative path',
      'apps/service-e2e/src/probe.spec.ts',
      "import { bundlePrograms } from '../../../tools/bench/bundle';\nexport const b = bundlePrograms;\n",
      /enforce-module-boundaries/,
    ],
    [
      'a library importing an app, even its options',
      'libs/tsr/runtime/src/lib/probe.ts',
      "import { clientOptions } from '@tsr/client/options';\nexport const c = clientOptions;\n",
      /enforce-module-boundaries: (Imports of apps are forbidden|Circular dependency)/,
    ],
    [
      'a library importing test support',
      'libs/tsr/runtime/src/lib/probe.ts',
      "import { freePort } from '@tsr/testing';\nexport const f = freePort;\n",
      /no-restricted-imports: .*test support is for the e2e suites/,
    ],
    [
      'an app shipping test support',
      'apps/client/src/probe.ts',
      "import { freePort } from '@tsr/testing';\nexport const f = freePort;\n",
      /no-restricted-imports: .*test support is for the e2e suites/,
    ],
    [
      "an app's spec using test support",
      'apps/broker/src/probe.spec.ts',
      "import { isListening } from '@tsr/testing';\nexport const l = isListening;\n",
      /no-restricted-imports: .*nx affected stays exact/,
    ],
    [
      "the benchmark importing an app's options",
      'tools/bench/probe.ts',
      "import { brokerOptions } from '@tsr/broker/options';\nexport const o = brokerOptions;\n",
      /enforce-module-boundaries/,
    ],
    [
      'the benchmark importing an app',
      'tools/bench/probe.ts',
      "import { LazyPirateClient } from '../../apps/client/src/lazy-pirate';\nexport const l = LazyPirateClient;\n",
      /enforce-module-boundaries/,
    ],
    // an import that runs back up a layer
    [
      'the sockets importing the protocol',
      'libs/tsr/zmtp/src/lib/probe.ts',
      "import { HEARTBEAT } from '@tsr/protocol';\nexport const h = HEARTBEAT;\n",
      layer('transport'),
    ],
    [
      'the protocol importing the runtime',
      'libs/tsr/protocol/src/lib/probe.ts',
      "import { parsers } from '@tsr/runtime';\nexport const p = parsers;\n",
      layer('protocol', true),
    ],
    [
      'the runtime importing monitoring',
      'libs/tsr/runtime/src/lib/probe.ts',
      "import { createRegistry } from '@tsr/monitoring';\nexport const r = createRegistry;\n",
      layer('runtime', true),
    ],
    // an import that skips a layer
    [
      'monitoring reaching past the runtime to the sockets',
      'libs/tsr/monitoring/src/lib/probe.ts',
      "import { ZmtpRouter } from '@tsr/zmtp';\nexport const r = ZmtpRouter;\n",
      layer('monitoring'),
    ],
    [
      'monitoring reaching past the runtime to the protocol',
      'libs/tsr/monitoring/src/lib/probe.ts',
      "import { HEARTBEAT } from '@tsr/protocol';\nexport const h = HEARTBEAT;\n",
      layer('monitoring'),
    ],
  ])('rejects %s', async (_what, path, code, expected) => {
    const found = await problems(path, code);
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

describe('formatting (Prettier, as a lint rule)', () => {
  it('fails a file Prettier would change, and passes it formatted', async () => {
    expect(await problems('libs/tsr/protocol/src/lib/probe.ts', 'export const x = {a:1,\n  b :2}\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^prettier\/prettier: /)]),
    );
    expect(await problems('libs/tsr/protocol/src/lib/probe.ts', 'export const x = { a: 1, b: 2 };\n')).toEqual([]);
  });
});
