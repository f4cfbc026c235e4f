import { createTracer, exitOnSignals, fail, runProgram } from '@tsr/tsr';
import { BrokerServer } from './broker-server';
import { brokerOptions, brokerSettings } from './options';

runProgram('broker', brokerOptions, async (config) => {
  const trace = createTracer('broker', config.log);
  const server: BrokerServer = new BrokerServer(brokerSettings(config), trace, (error) => {
    trace.info(server.summary());
    server.close();
    fail('broker', error);
  });
  exitOnSignals([server], trace, () => trace.info(server.summary()));
  await server.start();
});
