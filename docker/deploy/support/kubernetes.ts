import { execFileSync } from 'node:child_process';
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
 * Validates an object against the Kubernetes OpenAPI schema of its apiVersion and kind
 * (kubernetes-models, offline). Returns the problems, empty when valid. The schema checks types,
 * enums and required fields; like the API server's, it does not reject unknown fields.
 */
export function schemaProblems(object: Obj): string[] {
  const { apiVersion, kind } = object;
  const group = typeof apiVersion === 'string' ? apiVersion : '';
  let models: Record<string, unknown>;
  try {
    // 'v1' is the core group, 'apps/v1' and 'networking.k8s.io/v1' are modules of the same name.
    models = require(`kubernetes-models/${group}`);
  } catch {
    return [`no schema for apiVersion ${JSON.stringify(apiVersion)}`];
  }
  const Model = models[kind] as (new (data: Obj) => { validate(): void }) | undefined;
  if (typeof Model !== 'function') return [`no schema for kind ${JSON.stringify(kind)} in ${apiVersion}`];
  try {
    new Model(object).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
