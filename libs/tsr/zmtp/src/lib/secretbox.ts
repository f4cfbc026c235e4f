/**
 * The secretbox every CURVE MESSAGE goes through: native libsodium when its addon loads (the
 * programs' images carry it), else libsodium's WebAssembly build, which runs anywhere Node does.
 * Chosen once, at the first box.
 */
import { heapBoxes } from './heap-secretbox';
import { loadNativeBoxes } from './native-secretbox';
import type { SecretBoxes } from './secretbox-shape';

let chosen: SecretBoxes | undefined;
/** Why the native boxes are not used, when they are not. */
let nativeMissing: string | undefined;

export function secretBoxes(): SecretBoxes {
  if (chosen) return chosen;
  const native = loadNativeBoxes();
  if (typeof native === 'string') nativeMissing = native;
  return (chosen = typeof native === 'string' ? heapBoxes : native);
}

/** Who boxes CURVE's frames in this process, and why not natively if not: for the programs' logs. */
export function curveBoxesDescription(): string {
  const boxes = secretBoxes();
  return nativeMissing === undefined ? boxes.name : `${boxes.name}; ${nativeMissing}`;
}
