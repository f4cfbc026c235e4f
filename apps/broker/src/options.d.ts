import { type ConfigOf } from '@tsr/tsr';
import type { BrokerServerOptions } from './broker-server';
/** Room a worker's answer has beyond the request it answers (the echo adds ` W <id>`). */
export declare const REPLY_HEADROOM: number;
/** The seed's command line `broker frontendPort backendPort`, plus named options. */
export declare const brokerOptions: {
    log: {
        flag: string;
        env: string[];
        default: "silent" | "error" | "info" | "trace";
        parse: (raw: string, name: string) => "silent" | "error" | "info" | "trace";
        describe: string;
    };
    frontendPort: {
        flag: string;
        positional: number;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    backendPort: {
        flag: string;
        positional: number;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    bindHost: {
        flag: string;
        env: string[];
        default: string;
        parse: (raw: string, name: string) => string;
        describe: string;
    };
    answerTimeoutMs: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    heartbeatMs: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    liveness: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxPending: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxRequestBytes: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxReplyBytes: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxQueueBytes: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxClientBytes: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    requestTtlMs: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxFailures: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
    maxWorkers: {
        flag: string;
        env: string[];
        default: number;
        parse: (raw: string, name: string) => number;
        describe: string;
    };
};
export type BrokerConfig = ConfigOf<typeof brokerOptions>;
/** The server's settings: derived limits filled in, and limits that cannot work together refused. */
export declare function brokerSettings(config: BrokerConfig): BrokerServerOptions;
