// What failed in a long `npm test` log, printed again at its end: a CI page shows the log's tail,
// and Nx prints a failing task's output where it ran, minutes of passing suites before that tail.
// Usage: tsx tools/workspace/test-failures.ts <log>
import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';

/** Lines that end a jest failure block: the next block, a suite's verdict, a summary, the next task. */
const blockEnd = /^(\s*● |\s*(PASS|FAIL) |Test Suites:|Summary of all failing tests|> nx run|\s*NX )/;
const maxBlockLines = 60;
const maxBlocks = 20;

export type TestFailures = { failedTasks: string[]; failedSuites: string[]; blocks: string[][] };

/** The failed Nx tasks, the failed jest suites and each failing test's block (title, diff, stack). */
export function testFailures(log: string): TestFailures {
  const lines = stripVTControlCharacters(log).split('\n');
  const failedTasks: string[] = [];
  const failedSuites: string[] = [];
  const blocks: string[][] = [];
  const seen = new Set<string>();
  let inSuite = ''; // the suite whose output this is: titles repeat across suites ("Test suite failed to run")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*Failed tasks:\s*$/.test(line)) {
      let j = i + 1;
      while (j < lines.length && lines[j].trim() === '') j++;
      for (let task; (task = /^\s*-\s+(\S+)\s*$/.exec(lines[j] ?? '')?.[1]); j++) {
        if (!failedTasks.includes(task)) failedTasks.push(task);
      }
    }
    const suite = /^\s*FAIL\s+(.+?)\s*$/.exec(line)?.[1];
    if (suite) inSuite = suite;
    if (suite && !failedSuites.includes(suite)) failedSuites.push(suite);
    const title = /^\s*● (.+)$/.exec(line)?.[1];
    const key = `${inSuite}\n${title}`;
    if (title && title !== 'Console' && !seen.has(key) && blocks.length < maxBlocks) {
      seen.add(key);
      const block = inSuite ? [`  (${inSuite})`, line] : [line];
      for (let j = i + 1; j < lines.length && !blockEnd.test(lines[j]) && block.length < maxBlockLines; j++) block.push(lines[j]);
      while (block.at(-1)?.trim() === '') block.pop();
      blocks.push(block);
    }
  }
  return { failedTasks, failedSuites, blocks };
}

/** The report printed at the end of a failed run; empty when the log names no failure. */
export function failureReport({ failedTasks, failedSuites, blocks }: TestFailures): string {
  const parts: string[] = [];
  if (failedTasks.length) parts.push(`failed tasks: ${failedTasks.join(', ')}`);
  if (failedSuites.length) parts.push(['failed suites:', ...failedSuites.map((s) => `  ${s}`)].join('\n'));
  for (const block of blocks) parts.push(block.join('\n'));
  return parts.join('\n\n');
}

if (require.main === module) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: tsx tools/workspace/test-failures.ts <log>');
    process.exit(2);
  }
  const report = failureReport(testFailures(readFileSync(path, 'utf8')));
  console.log(report || 'the log names no failed task or test: see its end above');
}
