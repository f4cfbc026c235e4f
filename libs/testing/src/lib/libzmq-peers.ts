/** libzmq's own sockets as the e2e suites' and the benchmark's foreign peers: the helpers live with the sockets' tests. */
export { curveClientSocketOptions, onSocketEvents } from '@tsr/zmtp/testing';
