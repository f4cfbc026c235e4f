// Traces: W3C Trace Context in a request's metadata and the attributes of our spans, with
// OpenTelemetry's API alone (the SDK, for the programs, is '@tsr/telemetry/sdk').
export * from './lib/trace-context';
export * from './lib/attributes';
