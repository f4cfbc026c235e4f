export * from './lib/processes';
export * from './lib/ports';
export * from './lib/regexp';
export * from './lib/workspace';
export * from './lib/libzmq-peers';
