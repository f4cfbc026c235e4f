export * from './lib/config';
export * from './lib/trace';
export * from './lib/endpoint';
export * from './lib/frames';
export * from './lib/identity';
export * from './lib/shutdown';
export * from './lib/program';
export * from './lib/options';
