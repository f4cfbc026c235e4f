export { Worker, serve, type WorkerStatus } from './lib/worker';
export type { Handler, RequestInfo, ServeOptions, WorkerLogger } from './lib/options';
