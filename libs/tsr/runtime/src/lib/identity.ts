import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

// Random start per process (a restarted container may keep its hostname and pid), then a
// counter, so two identities made by one process can never collide.
let next = randomBytes(3).readUIntBE(0, 3);

/**
 * The seed's identity (`"W " + hostname`) made unique per instance: several workers or clients on
 * one host (or a restarted container keeping its hostname) must never share a routing id.
 */
export function uniqueIdentity(prefix: 'W' | 'C', host: string = hostname()): string {
  const suffix = next.toString(16).padStart(6, '0');
  next = (next + 1) % 0x1000000;
  return `${prefix} ${host}-${process.pid}-${suffix}`;
}
