/**
 * A dispatch ticket: what the broker puts in a request's client frame on the backend, in place of
 * the client's routing id. Workers echo that frame untouched (the seed's `workerReq` does:
 * `send([cliente, '', reply])`), so a reply names the very dispatch it answers.
 *
 *   [ instance: 8 bytes ][ sequence: 6 bytes, big-endian ]
 *
 * The instance id is random per broker process: libzmq hands out the same generated routing ids
 * in every process, but no two broker instances share tickets, so a reply that crosses a broker
 * restart can never be taken for an answer to a new client.
 */
export declare const INSTANCE_BYTES = 8;
export declare const TICKET_BYTES: number;
export declare const newInstanceId: () => Buffer;
export declare function encodeTicket(instance: Buffer, sequence: number): Buffer;
/** The sequence number of a ticket of `instance`; undefined for anything else. */
export declare function decodeTicket(instance: Buffer, ticket: Buffer): number | undefined;
