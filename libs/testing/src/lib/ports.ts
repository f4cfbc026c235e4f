import { bindable } from '@tsr/zmtp/testing';

// The sockets' test support has it: the programs' specs use it from there without depending on
// this library (which keeps `nx affected` exact: test support changes never touch an image).
export { freePort } from '@tsr/zmtp/testing';

/** True when something holds the port at `host`, so it cannot be bound there (the broker binds its sockets). */
export const isListening = async (port: number, host = '127.0.0.1'): Promise<boolean> => !(await bindable(port, host));
