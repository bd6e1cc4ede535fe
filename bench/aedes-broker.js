/**
 * Fallback MQTT broker for the bench when Debian's mosquitto is not installed: aedes in its own
 * process (so its CPU is not charged to the harness), on 127.0.0.1:<port from argv>.
 * Note: aedes speaks MQTT 3.1.1 only, which is what the gateway uses.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node bench/aedes-broker.js <port>\n');
  process.exit(2);
}

const broker = await Aedes.createBroker();
const server = createServer((socket) => broker.handle(socket));
server.listen(port, '127.0.0.1');

function stop() {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// An orphaned broker must not outlive the harness: it holds our stdin, which closes when it dies.
process.stdin.on('end', stop);
process.stdin.resume();
