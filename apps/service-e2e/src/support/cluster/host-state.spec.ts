import { hostChanges } from './host-state';

// The teardown check of the cluster fixture: what it counts as left behind by a run, and what as
// other people's containers coming and going on the main engine meanwhile.

describe('hostChanges', () => {
  const before = {
    links: ['1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536', '5: docker0: <BROADCAST,MULTICAST,UP> mtu 1500'],
    routes: ['default via 192.0.2.1 dev eth0'],
    mounts: ['/ /'],
  };

  it('finds nothing when the host is as it was', () => {
    expect(hostChanges(before, structuredClone(before))).toEqual({ ours: [], others: 0 });
  });

  it('reports a link, route, rule or mount added or removed by the run', () => {
    const after = {
      links: [...before.links, '9: pn1@if2: <BROADCAST,MULTICAST> mtu 1500'],
      routes: ['192.168.150.0/24 dev br0 proto kernel scope link src 192.168.150.1'],
      mounts: [...before.mounts, '/ /tmp/tsr-cluster/tsrcabc123/n1/root'],
      iptables: ['-A FORWARD -i br0 -j ACCEPT'],
    };
    expect(hostChanges(before, after).ours.sort()).toEqual(
      [
        'links: + 9: pn1@if2: <BROADCAST,MULTICAST> mtu 1500',
        'routes: + 192.168.150.0/24 dev br0 proto kernel scope link src 192.168.150.1',
        'routes: - default via 192.0.2.1 dev eth0',
        'mounts: + / /tmp/tsr-cluster/tsrcabc123/n1/root',
        'iptables: + -A FORWARD -i br0 -j ACCEPT',
      ].sort(),
    );
  });

  it("tells apart the main engine's own churn (other people's containers)", () => {
    const after = {
      ...before,
      links: [
        ...before.links,
        '12: veth1a2b3c4@if11: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master docker0',
        '13: br-0123456789ab: <BROADCAST> mtu 1500',
      ],
      mounts: [...before.mounts, '/ /run/docker/netns/0f1e2d3c4b5a'],
      iptables: ['-A DOCKER -d 172.18.0.2/32 ! -i br-0123456789ab -o br-0123456789ab -p tcp -m tcp --dport 9998 -j ACCEPT'],
    };
    expect(hostChanges(before, after)).toEqual({ ours: [], others: 4 });
  });
});
