import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { root } from './repository';

// Kubernetes with the Prometheus operator takes alert rules as a PrometheusRule: the same groups
// as docker/prometheus/alerts.yml (which compose and the Swarm stack load), made from it so that
// the two never differ. PodMonitor's jobLabel gives the series the job names the rules use.

export const ALERTS = join('docker', 'prometheus', 'alerts.yml');
export const PROMETHEUS_RULE = join('docker', 'deploy', 'k8s', 'monitoring', 'prometheusrule.yaml');
const REGENERATE = 'npx nx run deploy:prometheus-rule';

const HEADER = `# Made from ${ALERTS} by \`${REGENERATE}\` (do not edit: edit that file, and run it).
# For clusters with the Prometheus operator (CRD monitoring.coreos.com/v1), beside podmonitor.yaml,
# whose jobLabel names the jobs as the rules do (broker, worker, wordcount):
#   kubectl apply -f docker/deploy/k8s/monitoring/
`;

/** The PrometheusRule of the alert rules file's text. */
export function prometheusRule(alerts: string): string {
  const { groups } = parse(alerts) as { groups: unknown[] };
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'tsr', namespace: 'tsr', labels: { 'app.kubernetes.io/part-of': 'tsr' } },
    spec: { groups },
  };
  return HEADER + stringify(rule, { lineWidth: 0 });
}

export const wantedPrometheusRule = (): string => prometheusRule(readFileSync(join(root, ALERTS), 'utf8'));

if (require.main === module) {
  writeFileSync(join(root, PROMETHEUS_RULE), wantedPrometheusRule());
  process.stdout.write(`wrote ${PROMETHEUS_RULE}\n`);
}
