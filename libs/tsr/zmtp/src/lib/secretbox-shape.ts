/**
 * What CURVE's MESSAGE boxes need of NaCl's secretbox (XSalsa20, Poly1305), whoever provides it:
 * libsodium in WebAssembly (heap-secretbox.ts) or native (native-secretbox.ts).
 */
export interface SecretBoxes {
  /** Who boxes, for the programs' logs. */
  readonly name: string;
  /**
   * Boxes one byte `head`, then `body`, and writes the box (MAC first, 16 + 1 + body.length bytes)
   * into `out` at `at`. `body` may lie in `out`'s memory, anywhere. `headRoom`: the byte before
   * `body` in its memory is the caller's to overwrite (a frame opened in place), so a box may be
   * sealed from there, without first copying `body` next to `head`.
   */
  sealInto(out: Uint8Array, at: number, head: number, body: Uint8Array, nonce: Uint8Array, key: Uint8Array, headRoom?: boolean): void;
  /**
   * Opens `box` (MAC first) and writes what it holds into `out` at `at`, which may be the box's own
   * memory. False, and nothing written, if it does not open.
   */
  openInto(box: Uint8Array, nonce: Uint8Array, key: Uint8Array, out: Uint8Array, at: number): boolean;
}
