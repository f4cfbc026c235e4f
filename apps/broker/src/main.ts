import { exitOnSignals, fail, programTracer, runProgram } from '@tsr/runtime';
import { BrokerServer } from './broker-server';
import { startBrokerMonitor } from './monitor';
import { brokerOptions, brokerSettings } from './options';

runProgram('broker', brokerOptions, async (config) => {
  const trace = programTracer('broker', config);
  const report = () => trace.info(server.summary(), server.counters());
  const server: BrokerServer = new BrokerServer(brokerSettings(config), trace, (error) => {
    report();
    trace.error('stopping', error);
    server.close();
    fail('broker', error);
  });
  exitOnSignals([server], trace, report);
  await server.start();
  if (config.httpPort > 0) await startBrokerMonitor(server, config.httpPort, config.httpHost, trace);
});
