import { servicesTable } from './discovery';

describe('servicesTable', () => {
  it('lists the services by name with their workers and queue, aligned', () => {
    expect(
      servicesTable([
        { name: 'wordcount', workers: 2, ready: 2, busy: 0, waiting: 0 },
        { name: 'default', workers: 12, ready: 3, busy: 9, waiting: 140 },
      ]),
    ).toBe(
      [
        'service    workers  ready  busy  waiting',
        'default         12      3     9      140',
        'wordcount        2      2     0        0',
      ].join('\n'),
    );
  });

  it('says so when there is none', () => expect(servicesTable([])).toBe('no services'));
});
