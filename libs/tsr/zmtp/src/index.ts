export * from './lib/tcp-endpoint';
export * from './lib/zmtp-codec';
export * from './lib/zmtp-connection';
export * from './lib/zmtp-router';
export * from './lib/zmtp-dealer';
export * from './lib/curve-keys';
export * from './lib/z85';
export { curveReady } from './lib/curve-mechanism';
export { curveBoxesDescription, secretBoxes } from './lib/secretbox';
