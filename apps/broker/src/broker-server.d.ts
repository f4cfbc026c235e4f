import { Router } from 'zeromq';
import { type Tracer } from '@tsr/tsr';
import { BrokerCore, type BrokerCoreOptions } from './broker-core';
export interface BrokerServerOptions extends Omit<BrokerCoreOptions, 'instance'> {
    frontendPort: number;
    backendPort: number;
    bindHost: string;
    /** Interval of the heartbeats sent to workers that speak them. */
    heartbeatMs: number;
    /** Largest message a worker may send; libzmq drops the connection of one that sends more. */
    maxReplyBytes: number;
}
/**
 * Requests up to this many times the request limit are read and refused `too-large`; larger ones
 * make libzmq drop the client's connection before they reach us, so no frame of any size can
 * make the broker allocate without bound.
 */
export declare const FRONTEND_HARD_LIMIT_FACTOR = 2;
/**
 * The socket side of the broker: two ROUTERs and one timer around the pure `BrokerCore`.
 * It parses frames, feeds the core and writes what the core emits; nothing else.
 */
export declare class BrokerServer {
    private readonly options;
    private readonly trace;
    /** A receive loop died: the broker can no longer keep its promises (the program exits 1). */
    private readonly onFatal;
    readonly frontend: Router;
    readonly backend: Router;
    readonly core: BrokerCore;
    malformed: {
        frontend: number;
        backend: number;
    };
    private readonly tracing;
    private readonly errorBodies;
    private timer;
    private heartbeats;
    private timerAt;
    private lastRefusalReport;
    constructor(options: BrokerServerOptions, trace: Tracer, 
    /** A receive loop died: the broker can no longer keep its promises (the program exits 1). */
    onFatal: (error: Error) => void);
    start(): Promise<void>;
    /**
     * One line of counters, printed when the broker stops: `label N` pairs separated by `, `
     * (the chaos suite reads them back by label).
     */
    summary(): string;
    close(): void;
    /** Runs a message's handler, then arms the one timer for whatever deadline it changed. */
    private handle;
    private onFrontend;
    private onBackend;
    /** Says why a worker is never sent work; at most once every 5 s, whatever a peer floods. */
    private reportRefusedWorker;
    private sendHeartbeats;
    private sendHeartbeat;
    /** Keeps the one timer armed for the earliest deadline. */
    private armTimer;
    private send;
    private reject;
}
