export * from './keys';
export * from './allow-list';
export * from './curve-guard';
export * from './curve-options';
export * from './keygen';
// Who boxes CURVE's frames (native libsodium or WebAssembly), for the programs' logs.
export { curveBoxesDescription } from '@tsr/zmtp';
