/** Where the NATS baseline's requests go: the responders' subject, and the queue group that spreads them. */
export const NATS_SUBJECT = 'tsr.bench.echo';
export const NATS_QUEUE = 'workers';
