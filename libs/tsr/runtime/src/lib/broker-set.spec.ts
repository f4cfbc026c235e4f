import { BrokerSet, brokerAddressList } from './broker-set';
import { ConfigError } from './errors';

describe('brokerAddressList', () => {
  it('takes one address, a list, or addresses separated by commas; duplicates once, in their order', () => {
    expect(brokerAddressList('tcp://bro:9998')).toEqual([{ host: 'bro', port: 9998 }]);
    expect(brokerAddressList({ host: '::1', port: 5 })).toEqual([{ host: '::1', port: 5 }]);
    expect(brokerAddressList('b:2, a:1,[::1]:3,tcp://b:2')).toEqual([
      { host: 'b', port: 2 },
      { host: 'a', port: 1 },
      { host: '::1', port: 3 },
    ]);
    expect(brokerAddressList(['a:1,c:3', { host: 'a', port: 1 }, 'b:2'])).toEqual([
      { host: 'a', port: 1 },
      { host: 'c', port: 3 },
      { host: 'b', port: 2 },
    ]);
  });

  it('refuses an empty list and names a bad entry', () => {
    expect(() => brokerAddressList([])).toThrow(new ConfigError('no broker address given'));
    expect(() => brokerAddressList('a:1,,b:2')).toThrow(new ConfigError('broker address must be tcp://host:port or host:port, got ""'));
    expect(() => brokerAddressList(['a:1', 'bro'])).toThrow(/got "bro"/);
    expect(() => brokerAddressList('a:1,b:99999')).toThrow(ConfigError);
    expect(() => brokerAddressList({ host: 'a b', port: 1 })).toThrow(ConfigError);
  });
});

describe('BrokerSet', () => {
  /** A resolver answering from `answers` (a name's addresses, or an Error to fail with), counting its calls. */
  const resolver = (answers: Record<string, string[] | Error>) => {
    const lookup = jest.fn(async (host: string) => {
      const answer = answers[host];
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error(`getaddrinfo ENOTFOUND ${host}`);
      return answer;
    });
    return { answers, lookup };
  };
  const sets: BrokerSet[] = [];
  const open = (...args: ConstructorParameters<typeof BrokerSet>) => {
    const set = new BrokerSet(...args);
    sets.push(set);
    return set;
  };
  afterEach(() => {
    sets.splice(0).forEach((s) => s.close());
    jest.useRealTimers();
  });

  it('gives IP addresses as they are, sorted, at once from start(), never looked up, with no timer', () => {
    jest.useFakeTimers();
    const { lookup } = resolver({});
    const changes: (readonly string[])[] = [];
    const set = open('10.0.0.2:1,10.0.0.1:1,[::1]:5,10.0.0.1:1', (e) => changes.push(e), { lookup });
    expect(set.endpoints).toEqual([]);
    set.start();
    expect(changes).toEqual([['tcp://10.0.0.1:1', 'tcp://10.0.0.2:1', 'tcp://[::1]:5']]);
    expect(set.endpoints).toEqual(changes[0]);
    expect(jest.getTimerCount()).toBe(0);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('keeps a lone name whose one broker has one address as the name, and switches to addresses while it has more (1 → 2 → 1)', async () => {
    jest.useFakeTimers();
    const { answers, lookup } = resolver({ 'tasks.broker': ['10.0.0.7'] });
    const changes: (readonly string[])[] = [];
    open('tasks.broker:9998', (e) => changes.push(e), { lookup, resolveIntervalMs: 1000 }).start();
    await jest.advanceTimersByTimeAsync(0);
    expect(changes).toEqual([['tcp://tasks.broker:9998']]);
    answers['tasks.broker'] = ['10.0.0.9', '10.0.0.7'];
    await jest.advanceTimersByTimeAsync(1000);
    expect(changes.at(-1)).toEqual(['tcp://10.0.0.7:9998', 'tcp://10.0.0.9:9998']);
    answers['tasks.broker'] = ['10.0.0.9'];
    await jest.advanceTimersByTimeAsync(1000);
    expect(changes).toEqual([['tcp://tasks.broker:9998'], ['tcp://10.0.0.7:9998', 'tcp://10.0.0.9:9998'], ['tcp://tasks.broker:9998']]);
    expect(lookup).toHaveBeenCalledTimes(3);
  });

  it('calls onChange only when the set changes, not when the answer comes in another order', async () => {
    jest.useFakeTimers();
    const { answers, lookup } = resolver({ brokers: ['10.0.0.1', '10.0.0.2'] });
    const onChange = jest.fn();
    open('brokers:1', onChange, { lookup, resolveIntervalMs: 1000 }).start();
    await jest.advanceTimersByTimeAsync(0);
    answers.brokers = ['10.0.0.2', '10.0.0.1', '10.0.0.2'];
    await jest.advanceTimersByTimeAsync(3000);
    expect(lookup).toHaveBeenCalledTimes(4);
    expect(onChange).toHaveBeenCalledTimes(1);
    answers.brokers = ['10.0.0.2', '10.0.0.3'];
    await jest.advanceTimersByTimeAsync(1000);
    expect(onChange).toHaveBeenCalledTimes(2);
    expect(onChange).toHaveBeenLastCalledWith(['tcp://10.0.0.2:1', 'tcp://10.0.0.3:1']);
  });

  /** A set of one name that resolves to two brokers (looked up every 1000 ms, fake timers), after its first look-up. */
  const twoBrokersFound = async () => {
    jest.useFakeTimers();
    const { answers, lookup } = resolver({ brokers: ['10.0.0.1', '10.0.0.2'] });
    const onChange = jest.fn();
    const set = open('brokers:1', onChange, { lookup, resolveIntervalMs: 1000 });
    set.start();
    await jest.advanceTimersByTimeAsync(0);
    return { answers, lookup, onChange, set };
  };

  it('keeps the brokers last found when a look-up fails or finds nothing', async () => {
    const { answers, lookup, onChange, set } = await twoBrokersFound();
    answers.brokers = new Error('getaddrinfo EAI_AGAIN brokers');
    await jest.advanceTimersByTimeAsync(1000);
    answers.brokers = [];
    await jest.advanceTimersByTimeAsync(1000);
    expect(lookup).toHaveBeenCalledTimes(3);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(set.endpoints).toEqual(['tcp://10.0.0.1:1', 'tcp://10.0.0.2:1']);
  });

  it('dials a name never found by its name (the dial says why), until it is found', async () => {
    jest.useFakeTimers();
    const { answers, lookup } = resolver({});
    const changes: (readonly string[])[] = [];
    open(['nowhere:1', '10.0.0.5:2'], (e) => changes.push(e), { lookup, resolveIntervalMs: 1000 }).start();
    await jest.advanceTimersByTimeAsync(0);
    expect(changes).toEqual([['tcp://10.0.0.5:2', 'tcp://nowhere:1']]);
    answers.nowhere = ['10.0.0.6'];
    await jest.advanceTimersByTimeAsync(1000);
    // Among several entries a name's one address is used: two names of one broker are one broker.
    expect(changes.at(-1)).toEqual(['tcp://10.0.0.5:2', 'tcp://10.0.0.6:1']);
  });

  it('counts a broker once across names and addresses, and a dual-stack broker once (IPv4 first, IPv6 in brackets)', async () => {
    const { lookup } = resolver({ a: ['10.0.0.1', 'fd00::1'], b: ['10.0.0.1'], v6: ['fd00::2', 'fd00::1', 'fe80::1%eth0'] });
    const sets = [['a:1,b:1,10.0.0.1:1'], ['a:1'], ['v6:1']].map(([addresses]) => {
      const set = open(addresses, () => undefined, { lookup });
      set.start();
      return set;
    });
    await new Promise((r) => setImmediate(r));
    expect(sets.map((s) => s.endpoints)).toEqual([['tcp://10.0.0.1:1'], ['tcp://a:1'], ['tcp://[fd00::1]:1', 'tcp://[fd00::2]:1']]);
  });

  it('stops looking up when closed, and calls onChange no more, even for a look-up under way', async () => {
    const { answers, lookup, onChange, set } = await twoBrokersFound();
    expect(jest.getTimerCount()).toBe(1);
    set.close();
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(5000);
    expect(lookup).toHaveBeenCalledTimes(1);

    const late = open('brokers:1', onChange, { lookup, resolveIntervalMs: 1000 });
    answers.brokers = ['10.0.0.3', '10.0.0.4'];
    late.start();
    late.close(); // the look-up is under way
    await jest.advanceTimersByTimeAsync(5000);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses a bad interval', () => {
    expect(() => new BrokerSet('a:1', () => undefined, { resolveIntervalMs: 0 })).toThrow(RangeError);
  });

  it('looks names up with the system resolver: localhost alone stays a name, among others it is its IPv4 address', async () => {
    const lone = await firstSet('localhost:5000');
    expect(lone).toEqual(['tcp://localhost:5000']);
    const several = await firstSet('localhost:5000,127.0.0.2:5000');
    expect(several).toEqual(['tcp://127.0.0.1:5000', 'tcp://127.0.0.2:5000']);
  });

  const firstSet = (addresses: string) =>
    new Promise<readonly string[]>((resolve) => {
      const set = open(addresses, (endpoints) => {
        set.close();
        resolve(endpoints);
      });
      set.start();
    });
});
