/**
 * The protocol-stack ceiling: a bare OCPP-J 1.6 endpoint that does what any Central System must
 * do per frame and nothing else — WebSocket (ws), JSON parse, frame shape check, Ajv validation of
 * the request against the official schema, a fixed answer validated against its response schema,
 * send. No mapping, no outbox, no MQTT. The gateway's throughput is reported as a ratio of it.
 *
 * Usage: node bench/baseline-server.js <port>
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { WebSocketServer } from 'ws';

const addFormats = addFormatsModule.default ?? addFormatsModule;
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node bench/baseline-server.js <port>\n');
  process.exit(2);
}

const ajv = new Ajv({ strict: false, allErrors: false });
addFormats(ajv);
const schemas = JSON.parse(readFileSync(new URL('../schemas/ocpp1.6.json', import.meta.url), 'utf8'));
// Ajv's URI parser rejects the official "urn:Action.req" ids: register them without "urn:".
for (const { $id, ...schema } of schemas) ajv.addSchema(schema, $id.replace(/^urn:/, ''));
const validator = (id) => ajv.getSchema(id);

const nowIso = () => new Date().toISOString();
const ANSWERS = {
  BootNotification: () => ({ status: 'Accepted', currentTime: nowIso(), interval: 300 }),
  Heartbeat: () => ({ currentTime: nowIso() }),
  StatusNotification: () => ({}),
  MeterValues: () => ({}),
  DataTransfer: () => ({ status: 'Accepted' }),
  Authorize: () => ({ idTagInfo: { status: 'Accepted' } }),
};
const compiled = new Map();
for (const action of Object.keys(ANSWERS)) {
  compiled.set(action, { req: validator(`${action}.req`), conf: validator(`${action}.conf`) });
}

const counters = { calls: 0, errors: 0 };

function callError(id, code, description) {
  counters.errors++;
  return JSON.stringify([4, id, code, description, {}]);
}

function handle(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    return callError('-1', 'FormationViolation', 'not JSON');
  }
  if (!Array.isArray(frame) || typeof frame[1] !== 'string')
    return callError('-1', 'FormationViolation', 'not a frame');
  const [type, id, action, payload] = frame;
  if (type !== 2) return undefined; // CALLRESULT/CALLERROR: this server never calls
  if (
    typeof action !== 'string' ||
    typeof payload !== 'object' ||
    payload === null ||
    Array.isArray(payload)
  ) {
    return callError(id, 'FormationViolation', 'CALL needs an action and an object payload');
  }
  const v = compiled.get(action);
  if (!v) return callError(id, 'NotImplemented', `unknown action ${action}`);
  if (!v.req(payload)) return callError(id, 'FormationViolation', ajv.errorsText(v.req.errors));
  counters.calls++;
  const answer = ANSWERS[action]();
  if (!v.conf(answer)) return callError(id, 'InternalError', ajv.errorsText(v.conf.errors));
  return JSON.stringify([3, id, answer]);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: 1_048_576,
  handleProtocols: (protocols) => (protocols.has('ocpp1.6') ? 'ocpp1.6' : false),
});
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const out = handle(data.toString());
    if (out !== undefined) ws.send(out);
  });
  ws.on('error', () => undefined);
});

function stop() {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Orphaned (the harness died): our stdin is the harness's pipe and closes with it.
process.stdin.on('end', stop);
process.stdin.resume();
