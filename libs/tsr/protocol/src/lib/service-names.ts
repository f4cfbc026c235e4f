/** Service names (no imports: both conversations use them). */

/** The service of seed peers and of workers and clients that name none. */
export const DEFAULT_SERVICE = 'default';
/** The broker's own services start with this; no worker may serve one. */
export const BROKER_SERVICE_PREFIX = 'tsr.';
/** Discovery: answered by the broker with the services it knows, as JSON ({@link ServiceInfo}[]). */
export const DISCOVERY_SERVICE = 'tsr.services';
/**
 * Asked by a client to learn whether the broker takes batches of requests: answered at once with
 * `TSR/1 BATCH max=N` by a broker that does; one that does not answers no-service after its grace.
 */
export const BATCH_PROBE_SERVICE = 'tsr.batch';

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** A service name: 1 to 64 letters, digits and `. _ : -`, starting with a letter or digit. */
export const isServiceName = (name: string): boolean => SERVICE_NAME.test(name);
/** Why `name` cannot be served by a worker, or undefined when it can. */
export function serviceNameProblem(name: string): string | undefined {
  if (!isServiceName(name))
    return `service name ${JSON.stringify(name)} must be 1-64 letters, digits or . _ : - (starting with a letter or digit)`;
  if (name.startsWith(BROKER_SERVICE_PREFIX)) return `service names starting with "${BROKER_SERVICE_PREFIX}" belong to the broker`;
  return undefined;
}
