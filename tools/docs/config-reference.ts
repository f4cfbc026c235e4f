// docs/configuration.md, generated from the programs' own option specs (the ones `loadConfig` reads
// and `usage()` prints as `--help`), so the reference cannot drift from the programs.
//   npx nx run docs:config-reference            writes docs/configuration.md
//   npx tsx tools/docs/config-reference.ts --check   exits 1 if the file is stale (what tools/docs/config-reference.spec.ts checks)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPLY_HEADROOM, brokerOptions } from '@tsr/broker/options';
import { clientOptions } from '@tsr/client/options';
import { WORKER_RECONNECT_MAX_MS } from '@tsr/protocol';
import { type ConfigSpec, type OptionSpec, defaultLevel, defaultMeaning, usage } from '@tsr/runtime';
import { workerOptions } from '@tsr/worker/options';

/** Where the reference lives, relative to the repository root. */
export const CONFIG_REFERENCE = 'docs/configuration.md';
export const REGENERATE = 'npx nx run docs:config-reference';

const root = join(__dirname, '..', '..');

interface Program {
  /** The name `usage()` prints, and the section's title. */
  name: string;
  /** What it is and how to start it, one paragraph. */
  about: string;
  spec: ConfigSpec;
}

const programs: Program[] = [
  {
    name: 'broker',
    about:
      "The broker (`node dist/apps/broker/main.js`, the image `tsr-broker`): a ROUTER frontend for clients and a ROUTER backend for workers. The seed's command line `broker frontendPort backendPort` still works.",
    spec: brokerOptions,
  },
  {
    name: 'worker',
    about:
      "The worker program (`node dist/apps/worker/main.js`, the image `tsr-worker`), built on `@tsr-broker/worker`: one service, the echo or the wordcount example. The seed's command line `worker brokerHost brokerPort` still works.",
    spec: workerOptions,
  },
  {
    name: 'client',
    about:
      "The client program (`node dist/apps/client/main.js`, the image `tsr-client`), built on `@tsr-broker/client`: one request (the seed's), a load run (`--requests`), or discovery (`--services`). The seed's command line `client brokerHost brokerPort` still works.",
    spec: clientOptions,
  },
];

/**
 * Defaults that the environment decides when the specs are loaded: `--log`'s default is `TSR_LOG`
 * if set and `silent` under Jest. The reference shows the default a program started by hand gets.
 */
const environmentFreeDefaults: Record<string, unknown> = { log: defaultLevel({}) };

/** The default column: the default a program started by hand gets, as `--help` says it. */
function defaultCell(o: OptionSpec<unknown>): string {
  const value = o.flag in environmentFreeDefaults ? environmentFreeDefaults[o.flag] : o.default;
  if (value === '') return '(empty)';
  const meaning = defaultMeaning(o, value);
  return `\`${String(value)}\`${meaning ? ` (${meaning})` : ''}`;
}

/** A table cell: no pipe or line break may end it early. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function optionsTable(spec: ConfigSpec): string[] {
  const rows = Object.values(spec).map((o) => {
    const flag = typeof o.default === 'boolean' ? `\`--${o.flag}\`` : `\`--${o.flag} …\``;
    const env = o.env?.length ? o.env.map((e) => `\`${e}\``).join(', ') : '–';
    const positional = o.positional === undefined ? '' : String(o.positional + 1);
    return `| ${flag} | ${env} | ${positional} | ${defaultCell(o)} | ${cell(o.describe)} |`;
  });
  return ['| flag | variable | positional | default | description |', '| --- | --- | --- | --- | --- |', ...rows];
}

const precedence = [
  '## How an option is resolved',
  '',
  'Each option of a program comes from the first of these that gives it (`loadConfig`, the twelve-factor way):',
  '',
  "1. **the command line**: `--flag value` or `--flag=value`, or the seed's positional arguments (a named flag wins over its positional); a boolean stands alone (`--json`) or takes a value (`--json=false`); `--` ends the options;",
  "2. **the environment**: the option's variable (where it has several, the first one set); a variable set to the empty string counts as unset;",
  '3. **a `.env` file**: `.env` in the current directory, or the file `TSR_ENV_FILE` names, read only if it exists; it is parsed, never written into `process.env`, so it never overrides the environment;',
  '4. **the default** below.',
  '',
  'Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`. A value that does not parse, an unknown option, a flag without its value or one positional argument too many prints one line (`broker: --frontend-port must be a port number 1-65535, got "x"`) and exits 2, never a stack trace. `--help` (or `-h`) prints the same options as the tables below, from the same specs (`usage()`), and exits 0; `--version` prints the release (`broker 1.0.0`) and exits 0.',
  '',
  'Checked once everything is read:',
  '',
  `- **the broker's limits**, derived where they are 0: \`--max-reply\` = \`--max-request\` + ${REPLY_HEADROOM / 1024} KiB, \`--max-client-bytes\` = a quarter and \`--max-service-bytes\` = half of \`--max-queue-bytes\`; \`--startup-grace -1\` = \`--heartbeat\` × \`--liveness\` + ${WORKER_RECONNECT_MAX_MS} ms (the longest a worker waits between attempts to reach a restarted broker). Limits that cannot work together (an answer without room beyond the largest request, a share smaller than one request, a queue smaller than a share) exit 2;`,
  "- **CURVE**: a key given both as a file and as a value, a broker allow-list without the broker's own key pair, a broker key pair without `--curve-workers`, a worker with the broker's public key but no key pair of its own, or a key pair without the broker's public key: exit 2. A client with the broker's public key and no pair makes a fresh one (see [operations](operations.md#curve-only-trusted-peers)).",
];

/** The whole of docs/configuration.md. */
export function configReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    `<!-- Generated by tools/docs/config-reference.ts from the programs' option specs: do not edit, run \`${REGENERATE}\`. -->`,
    '',
    'Every option of the three programs, from the specs they read it with (`apps/*/src/options.ts` and the shared ones of the libraries), the same that their `--help` prints (`npm start -- --help` lists those of the local deployment). Examples: [README](../README.md); what the images and deployments set: [operations](operations.md).',
    '',
    ...precedence,
  ];
  for (const p of programs) {
    lines.push(
      '',
      `## ${p.name}`,
      '',
      p.about,
      '',
      '```',
      usage(p.name, p.spec).split('\n')[0].replace(/ {2,}/g, ' '),
      '```',
      '',
      ...optionsTable(p.spec),
    );
  }
  return lines.join('\n') + '\n';
}

/** The reference as it is on disk. */
export function committedReference(): string {
  return readFileSync(join(root, CONFIG_REFERENCE), 'utf8');
}

if (require.main === module) {
  const wanted = configReference();
  if (process.argv.includes('--check')) {
    if (committedReference() !== wanted) {
      process.stderr.write(`${CONFIG_REFERENCE} is stale: run ${REGENERATE}\n`);
      process.exit(1);
    }
    process.stdout.write(`${CONFIG_REFERENCE} is up to date\n`);
  } else {
    writeFileSync(join(root, CONFIG_REFERENCE), wanted);
    process.stdout.write(`wrote ${CONFIG_REFERENCE}\n`);
  }
}
