// docs/configuration.md is generated from the programs' option specs (tools/docs/config-reference.ts):
// regenerated here in memory, it must equal the committed file, so an option added, renamed or
// re-described without regenerating the reference fails the test run.
import { brokerOptions } from '@tsr/broker/options';
import { clientOptions } from '@tsr/client/options';
import { workerOptions } from '@tsr/worker/options';
import { CONFIG_REFERENCE, REGENERATE, committedReference, configReference } from './config-reference';

/** The first line where two texts differ, for the failure message. */
function firstDifference(committed: string, wanted: string): string {
  const [a, b] = [committed.split('\n'), wanted.split('\n')];
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i === -1 ? Math.min(a.length, b.length) : i;
  return `line ${at + 1}:\n  committed: ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}`;
}

describe(CONFIG_REFERENCE, () => {
  it('is what the option specs generate', () => {
    const committed = committedReference();
    const wanted = configReference();
    if (committed !== wanted)
      throw new Error(`${CONFIG_REFERENCE} is stale: run ${REGENERATE}\nfirst difference at ${firstDifference(committed, wanted)}`);
  });

  it('lists every flag and variable of the three programs', () => {
    const reference = configReference();
    for (const spec of [brokerOptions, workerOptions, clientOptions]) {
      for (const o of Object.values(spec)) {
        expect(reference).toContain(`\`--${o.flag}`);
        for (const name of o.env ?? []) expect(reference).toContain(`\`${name}\``);
      }
    }
  });

  it('does not depend on the environment it is generated in (TSR_LOG, Jest)', () => {
    expect(process.env['JEST_WORKER_ID']).toBeDefined(); // --log's spec default is "silent" here
    expect(configReference()).toMatch(/\| `--log …` \| `TSR_LOG` \| {2}\| `info` \|/);
  });
});
