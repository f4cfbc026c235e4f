/**
 * Turns the raw runs into the summary (medians and spread over repetitions, ratios paired within
 * a repetition), the checks against the targets, and the tables printed to stdout and written to
 * results.md. Each experiment has its module; this one puts them in the report's order.
 */
import type { BoxCost } from '../box-cost';
import type { IdleRecord, RunRecord } from '../matrix';
import { type ClientAppRow, clientAppTable, summarizeClientApp } from './client-app';
import { type CostRow, costChecks, summarizeCost } from './cost';
import { type CpuRow, cpuTable, summarizeCpu } from './cpu';
import { type EncryptedRow, type EncryptedTargetRow, encryptedChecks, encryptedTables, summarizeEncrypted } from './encrypted';
import type { Table } from './format';
import { type LatencyRow, latencyChecks, latencyTable, summarizeLatency } from './latency';
import { type RssRow, memoryTable, summarizeMemory } from './memory';
import { indexRuns } from './runs';
import { type SaturationRow, lruChecks, saturationTable, summarizeSaturation, throughputChecks } from './saturation';
import { type SeveralBrokersRow, severalBrokersChecks, severalBrokersTables, summarizeSeveralBrokers } from './several-brokers';
import { type TracingRow, summarizeTracing, tracingChecks, tracingTables } from './tracing';
import { versusAppsChecks } from './versus-apps';
import {
  type VersusNatsCostRow,
  type VersusNatsRow,
  natsChecks,
  summarizeVersusNats,
  summarizeVersusNatsCosts,
  versusNatsTables,
} from './versus-nats';
import { warmUpChecks } from './warm-up';

export { type Table, fmtSpread, markdownTable, sizeLabel, textTable } from './format';

export interface Summary {
  versusNats: VersusNatsRow[];
  versusNatsCosts: VersusNatsCostRow[];
  severalBrokers: SeveralBrokersRow[];
  tracing: TracingRow[];
  encrypted: EncryptedRow[];
  encryptedTargets: EncryptedTargetRow[];
  saturation: SaturationRow[];
  metricsCost: CostRow[];
  curveCost: CostRow[];
  latency: LatencyRow[];
  clientApp: ClientAppRow[];
  rss: RssRow[];
  cpu: CpuRow[];
  checks: string[];
}

/**
 * `latencyWorkers`: the worker count of the half-saturation runs, and of the memory and CPU tables;
 * `boxCost`: what a CURVE box costs here (the encrypted experiment's bound).
 */
export function summarize(runs: RunRecord[], idle: IdleRecord[], latencyWorkers: number, boxCost?: BoxCost): Summary {
  const x = indexRuns(runs);
  const versusNats = summarizeVersusNats(runs);
  const versusNatsCosts = summarizeVersusNatsCosts(runs);
  const severalBrokers = summarizeSeveralBrokers(runs);
  const tracing = summarizeTracing(runs);
  const { rows: encrypted, targets: encryptedTargets } = summarizeEncrypted(runs);
  const saturation = summarizeSaturation(x);
  const metricsCost = summarizeCost(x, saturation, 'broker-metrics');
  const curveCost = summarizeCost(x, saturation, 'broker-curve');
  const latency = summarizeLatency(x, latencyWorkers);
  const clientApp = summarizeClientApp(x, latencyWorkers);
  const rss = summarizeMemory(x, idle, latencyWorkers);
  const cpu = summarizeCpu(x, latencyWorkers);
  const checks = [
    ...natsChecks(versusNats),
    ...versusAppsChecks(runs),
    ...severalBrokersChecks(severalBrokers),
    ...tracingChecks(tracing),
    ...encryptedChecks(encrypted, encryptedTargets, boxCost),
    ...warmUpChecks(runs),
    ...throughputChecks(saturation),
    ...costChecks(metricsCost, curveCost),
    ...lruChecks(saturation),
    ...latencyChecks(latency),
  ];
  return {
    versusNats,
    versusNatsCosts,
    severalBrokers,
    tracing,
    encrypted,
    encryptedTargets,
    saturation,
    metricsCost,
    curveCost,
    latency,
    clientApp,
    rss,
    cpu,
    checks,
  };
}

export function tables(s: Summary): Table[] {
  const out = [
    ...versusNatsTables(s.versusNats, s.versusNatsCosts),
    ...severalBrokersTables(s.severalBrokers),
    ...tracingTables(s.tracing),
    ...encryptedTables(s.encrypted, s.encryptedTargets),
  ];
  if (!s.saturation.length && !s.latency.length && !s.clientApp.length) return out; // only the comparison with NATS, several brokers, tracing, or encrypted, ran
  return [
    ...out,
    saturationTable(s.saturation),
    latencyTable(s.latency),
    ...(s.clientApp.length ? [clientAppTable(s.clientApp)] : []),
    memoryTable(s.rss),
    cpuTable(s.cpu),
  ];
}
