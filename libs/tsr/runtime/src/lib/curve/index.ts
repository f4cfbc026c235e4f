export * from './keys';
export * from './allow-list';
export * from './curve-guard';
export * from './curve-options';
export * from './keygen';
