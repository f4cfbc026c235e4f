import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * The seed's identity (`"W " + hostname`) made unique per instance: several workers or clients on
 * one host (or a restarted container keeping its hostname) must never share a routing id.
 */
export function uniqueIdentity(prefix: 'W' | 'C', host: string = hostname()): string {
  return `${prefix} ${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
