// What a program shows about itself: metrics, health probes, and the HTTP endpoint that serves them.
export * from './lib/metrics';
export * from './lib/health';
export * from './lib/monitor';
export * from './lib/curve-metrics';
