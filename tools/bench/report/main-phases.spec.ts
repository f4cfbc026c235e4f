import type { IdleRecord, RunRecord } from '../matrix';
import type { TargetKind } from '../targets';
import { summarize, tables } from './index';

/** A closed-loop saturation run (1 worker, 16 B) with its processes' cores and peak RSS (KiB). */
function saturationRun(rep: number, target: TargetKind, rps: number, usage: [string, number, number][]): RunRecord {
  return {
    rep,
    phase: 'saturation',
    target,
    workers: target === 'direct' ? 0 : 1,
    size: 16,
    mode: 'closed',
    inflight: 64,
    requestsPerSecond: rps,
    answered: rps,
    errors: 0,
    unanswered: 0,
    workersSeen: 1,
    latency: { count: rps, p50: 1, p90: 2, p99: 3, p999: 4, max: 5 },
    usage: usage.map(([label, cpuCores, peakRssKiB]) => ({ label, cpuCores, peakRssKiB })),
    machineBusyCores: 1.8,
    windowRamp: 1,
    cpuUsPerRequest: (usage[0][1] / rps) * 1e6,
  };
}

describe('the main phases: saturation, memory, CPU', () => {
  const runs = [1, 2].flatMap((rep) => [
    saturationRun(rep, 'broker', 10_000 * rep, [
      ['broker', 0.5, 51_200],
      ['worker1', 0.3, 40_960],
      ['loadgen1', 0.4, 61_440],
    ]),
    saturationRun(rep, 'forwarder', 12_500 * rep, [
      ['forwarder', 0.4, 30_720],
      ['worker1', 0.3, 40_960],
      ['loadgen1', 0.4, 61_440],
    ]),
    saturationRun(rep, 'forwarder-lru', 5_000 * rep, [
      ['forwarder', 0.2, 30_720],
      ['worker1', 0.3, 40_960],
      ['loadgen1', 0.4, 61_440],
    ]),
    saturationRun(rep, 'direct', 40_000, [
      ['direct', 0.6, 20_480],
      ['loadgen1', 0.7, 61_440],
    ]),
  ]);
  const idle = [1, 2].flatMap((rep): IdleRecord[] => [
    { rep, target: 'broker', workers: 1, rssKiB: { broker: 40_960 + rep * 1024, worker1: 30_720 } },
    { rep, target: 'client', workers: 0, rssKiB: { client: 20_480 } },
  ]);
  const s = summarize(runs, idle, 1);

  it('pairs broker and LRU forwarder with the bare forwarder, and judges the throughput target', () => {
    expect(s.saturation).toHaveLength(1);
    expect([s.saturation[0].ratio.median, s.saturation[0].lruRatio?.median, s.saturation[0].brokerToLru?.median]).toEqual([0.8, 0.4, 2]);
    expect(s.checks).toContain('throughput target (broker >= 0.8 x bare forwarder): met in 1 of 1 cases; ratio medians 16 B/W1 0.80');
    expect(s.checks).toContain(
      'diagnostic, 16 B, 1 worker(s): LRU forwarder / bare forwarder 0.40 (the one-request-per-worker rule alone), broker / LRU forwarder 2.00 (what our code costs beyond the rule)',
    );
  });

  it('reports idle and peak RSS in MiB for each kind of process', () => {
    const broker = s.rss.find((r) => r.process === 'broker (1 worker)');
    expect([broker?.idleMiB.median, broker?.loadMiB[16].median]).toEqual([41.5, 50]);
    expect(s.rss.find((r) => r.process === 'load generator')?.loadMiB[16].median).toBe(60);
    expect(s.rss.find((r) => r.process.startsWith('client'))?.idleMiB.median).toBe(20);
  });

  it('splits the busy cores between the target, its workers, the generator and the rest', () => {
    const broker = s.cpu.find((r) => r.target === 'broker');
    expect([broker?.main.median, broker?.workersCores.median, broker?.generators.median]).toEqual([0.5, 0.3, 0.4]);
    expect(broker?.others.median).toBeCloseTo(0.6);
    expect(s.cpu.find((r) => r.target === 'direct')?.workers).toBe(0);
  });

  it('tabulates saturation, latency, memory and CPU in that order, without the client app when it did not run', () => {
    expect(tables(s).map((t) => t.title.split(' ')[0])).toEqual(['Saturation', 'Latency', 'Resident', 'Where']);
    expect(tables(s)[0].rows[0].slice(0, 7)).toEqual([
      '16 B',
      '1',
      '15,000 [10,000–20,000]',
      '18,750 [12,500–25,000]',
      '0.80 [0.80–0.80]',
      '7,500 [5,000–10,000]',
      '0.40 [0.40–0.40]',
    ]);
  });
});
