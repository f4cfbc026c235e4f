import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';
import { failureReport, testFailures } from './test-failures';

const esc = (code: string) => `${String.fromCharCode(27)}[${code}m`;
// As Nx and jest print a failing run: colours, a console block, the failing test, a later summary.
const log = [
  '> nx run service-e2e:e2e',
  '',
  `${esc('0')}${esc('7')}${esc('1')}${esc('32')} PASS ${esc('39')}${esc('22')}${esc('27')} service-e2e:process apps/service-e2e/src/process/service.spec.ts`,
  `${esc('7')}${esc('1')}${esc('31')} FAIL ${esc('39')}${esc('22')}${esc('27')} service-e2e:process apps/service-e2e/src/process/several-brokers.spec.ts (41.2 s)`,
  '  ● Console',
  '',
  '    console.log',
  '      answered in 1204 ms',
  '',
  '  ● several brokers › answers within 1 s when one broker is killed',
  '',
  `    expect(${esc('31')}received${esc('39')}).toBeLessThan(${esc('32')}expected${esc('39')})`,
  '',
  '    Expected: < 1000',
  '    Received:   1204',
  '',
  '      at Object.<anonymous> (src/process/several-brokers.spec.ts:88:7)',
  '',
  'Test Suites: 1 failed, 1 passed, 2 total',
  'Summary of all failing tests',
  ' FAIL  service-e2e:process apps/service-e2e/src/process/several-brokers.spec.ts (41.2 s)',
  '  ● several brokers › answers within 1 s when one broker is killed',
  '',
  '    Expected: < 1000',
  '',
  `${esc('7')}${esc('1')}${esc('31')} NX ${esc('39')}${esc('22')}${esc('27')}  Running targets e2e for 1 project failed`,
  '',
  'Failed tasks:',
  '',
  '- service-e2e:e2e',
  '- tools:test',
  '',
  ' NX   Nx detected a flaky task',
].join('\n');

describe('what failed in a test log, printed again at its end', () => {
  it('names the failed tasks and suites, and each failing test once with its message and place', () => {
    const found = testFailures(log);
    expect(found.failedTasks).toEqual(['service-e2e:e2e', 'tools:test']);
    expect(found.failedSuites).toEqual(['service-e2e:process apps/service-e2e/src/process/several-brokers.spec.ts (41.2 s)']);
    expect(found.blocks).toHaveLength(1); // the console block is left out, the summary's repeat too
    const [block] = found.blocks;
    expect(block.slice(0, 2)).toEqual([
      '  (service-e2e:process apps/service-e2e/src/process/several-brokers.spec.ts (41.2 s))',
      '  ● several brokers › answers within 1 s when one broker is killed',
    ]);
    expect(block).toContain('    Received:   1204');
    expect(block.at(-1)).toBe('      at Object.<anonymous> (src/process/several-brokers.spec.ts:88:7)');
    expect(block.join('\n')).not.toContain(String.fromCharCode(27));
    expect(block.join('\n')).not.toContain('Test Suites');
  });

  it('keeps a title that two suites share, once for each ("Test suite failed to run")', () => {
    const broken = (suite: string) => [` FAIL  ${suite}`, '  ● Test suite failed to run', '', `    ${suite}: Cannot find module`, ''];
    const found = testFailures([...broken('a.spec.ts'), ...broken('b.spec.ts'), ...broken('a.spec.ts')].join('\n'));
    expect(found.failedSuites).toEqual(['a.spec.ts', 'b.spec.ts']);
    expect(found.blocks.map((b) => b.at(-1))).toEqual(['    a.spec.ts: Cannot find module', '    b.spec.ts: Cannot find module']);
  });

  it('says nothing for a log without failures', () => {
    const passing = log.split('\n').slice(0, 3).join('\n');
    expect(failureReport(testFailures(passing))).toBe('');
  });

  it('runs as .ci/run calls it, on a log file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'test-failures-'));
    writeFileSync(join(dir, 'test.log'), log);
    const out = execFileSync('npx', ['tsx', 'tools/workspace/test-failures.ts', join(dir, 'test.log')], {
      cwd: workspaceRoot,
      encoding: 'utf8',
    });
    expect(out).toContain('failed tasks: service-e2e:e2e, tools:test');
    expect(out).toContain('Received:   1204');
  });
});
