/**
 * Experiment, not part of the gateway: preloaded into the gateway process
 * (`--gateway-node-options "--import=./bench/experiments/nodelay.js"`), it turns Nagle's
 * algorithm off on every outgoing TCP socket — which for the gateway means its MQTT link to
 * ThingsBoard (mqtt.js does not call setNoDelay). Shows what TCP_NODELAY on that link is worth.
 */
import net from 'node:net';

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connectWithNoDelay(...args) {
  // Before the handle exists Node remembers the flag and applies it once connected.
  this.setNoDelay(true);
  return connect.apply(this, args);
};
