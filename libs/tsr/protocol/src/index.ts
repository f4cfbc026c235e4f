// TSR/1, the broker's protocol on top of the seed's envelope: pure data, no imports of ours.
export * from './lib/headers';
export * from './lib/reasons';
export * from './lib/service-names';
export * from './lib/batch';
export * from './lib/metadata';
export * from './lib/worker-wire';
export * from './lib/client-wire';
export * from './lib/echo';
export * from './lib/ticket';
export * from './lib/credit-lender';
