import type { Client } from '@tsr-broker/client';
import type { Tracer } from '@tsr/runtime';

/**
 * Says what happens to the connections of the program's clients (one, or load mode's many): a
 * broker that cannot be reached as a warning, once per address and reason until a connection to it
 * is made (load mode's clients all dial the same brokers), and each connection made and lost at debug.
 */
export function reportConnections(clients: readonly Client[], trace: Tracer): void {
  const refusals = new Map<string, string>(); // address -> the reason said last
  const follow = async (client: Client) => {
    for await (const e of client.events()) {
      if (e.type === 'refused') {
        if (refusals.get(e.address) === e.reason) continue;
        refusals.set(e.address, e.reason);
        trace.warn(`cannot reach the broker at ${e.address}: ${e.reason}; trying again`);
        continue;
      }
      if (e.type === 'connected') refusals.delete(e.address); // a later refusal is news again
      trace.debug(e.type === 'connected' ? `connected to ${e.address}` : `connection to ${e.address} lost`);
    }
  };
  for (const client of clients) void follow(client);
}
