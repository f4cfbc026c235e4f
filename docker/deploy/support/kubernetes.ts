import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML: the tests walk it freely, the schema check types it
export type Obj = Record<string, any>;

/** Every document of a YAML text; fails on any parse error or warning (duplicate keys too). */
export function parseYaml(text: string, source: string): Obj[] {
  // merge: the `<<: *anchor` keys that Compose files use.
  const docs = parseAllDocuments(text, { merge: true });
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => `${source}: ${e.message}`));
  if (problems.length) throw new Error(problems.join('\n'));
  return docs.map((d) => d.toJSON()).filter((d) => d !== null && d !== undefined);
}

/** True where a `kubectl` client is on PATH (it renders kustomizations offline). */
export function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `kubectl kustomize <dir>`: the objects exactly as `kubectl apply -k` would send them. */
export function kustomize(dir: string): Obj[] {
  return parseYaml(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }), `kubectl kustomize ${dir}`);
}

/**
 * The models' check, run in a child Node: kubernetes-models 5 is ES modules only (`import`, no
 * `require` condition), which Jest's CommonJS module system cannot load. Reads the objects as JSON
 * on stdin, writes one list of problems per object.
 */
const VALIDATE = `
import { readFileSync } from 'node:fs';
const objects = JSON.parse(readFileSync(0, 'utf8'));
const problems = [];
for (const object of objects) {
  const { apiVersion, kind } = object;
  const group = typeof apiVersion === 'string' ? apiVersion : '';
  let models;
  try {
    // 'v1' is the core group, 'apps/v1' and 'networking.k8s.io/v1' are modules of the same name.
    models = await import('kubernetes-models/' + group);
  } catch {
    problems.push(['no schema for apiVersion ' + JSON.stringify(apiVersion)]);
    continue;
  }
  const Model = models[kind];
  if (typeof Model !== 'function') {
    problems.push(['no schema for kind ' + JSON.stringify(kind) + ' in ' + apiVersion]);
    continue;
  }
  try {
    new Model(object).validate();
    problems.push([]);
  } catch (e) {
    problems.push([e.message]);
  }
}
process.stdout.write(JSON.stringify(problems));
`;

/**
 * Validates objects against the Kubernetes OpenAPI schema of their apiVersion and kind
 * (kubernetes-models, offline). Returns the problems of each, empty when valid. The schema checks
 * types, enums and required fields; like the API server's, it does not reject unknown fields.
 */
export function schemaProblemsOf(objects: readonly Obj[]): string[][] {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE], {
    cwd: join(__dirname, '..', '..', '..'), // the workspace root: its node_modules
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out) as string[][];
}

/** `schemaProblemsOf` for one object. */
export function schemaProblems(object: Obj): string[] {
  return schemaProblemsOf([object])[0];
}
