/**
 * `chargePoints[].host` / `port`: regular expressions on where a charge point connects from, as
 * the Python connector reads them. Ours match the whole address or port (like idRegexpPattern),
 * and an IPv4 peer seen through a dual-stack socket (`::ffff:10.0.0.7`) matches as `10.0.0.7` too.
 */
import type { ChargePointConfig } from '../config/types.js';
import type { PeerAddress } from '../ocpp/server.js';

const IPV4_MAPPED = '::ffff:';

/** Why the entry refuses this peer, or undefined when it admits it. */
export function addressRefusal(entry: ChargePointConfig, peer: PeerAddress): string | undefined {
  const { host, port } = entry;
  if (host) {
    const plain = peer.address.startsWith(IPV4_MAPPED)
      ? peer.address.slice(IPV4_MAPPED.length)
      : peer.address;
    if (!host.regexp.test(peer.address) && !host.regexp.test(plain)) {
      return `remote address ${plain} does not match chargePoints[].host ${JSON.stringify(host.pattern)}`;
    }
  }
  if (port && !port.regexp.test(String(peer.port))) {
    return `remote port ${peer.port} does not match chargePoints[].port ${JSON.stringify(port.pattern)}`;
  }
  return undefined;
}
