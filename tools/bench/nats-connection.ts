/**
 * How the NATS baseline's clients (the responders and the generator) reach nats-server: plain on
 * 127.0.0.1, or with TLS, trusting the run's self-signed certificate (nats-config.ts). nats.js
 * checks the certificate against the name it connected to, so a TLS connection goes to
 * `localhost`, the name the certificate is made for.
 */
import type { ConnectionOptions } from 'nats';

/** `caFile`: the certificate the server presents (its own CA); undefined for a plain connection. */
export const natsConnectOptions = (port: number, caFile: string | undefined): ConnectionOptions =>
  caFile ? { servers: `localhost:${port}`, tls: { caFile } } : { servers: `127.0.0.1:${port}` };
