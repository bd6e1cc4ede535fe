/**
 * Experiment, not part of the gateway: copies dist/ to a temporary folder and applies, to the
 * compiled JavaScript, the three changes docs/performance.md proposes for src/, so that their
 * effect can be measured A/B with the same harness:
 *
 *   node bench/experiments/patched-build.js [root]     → prints the patched cli.js path
 *   BENCH_EXP_B=1 BENCH_EXP_BACKLOG=4096 node bench/run.js --cli <that path> \
 *     --gateway-node-options=--import=$PWD/bench/experiments/nodelay.js
 *
 * `root` holds the built dist/ and package.json (default: this repository). The patches match the
 * code before commit cb54f56, which made these changes for real; to re-run the experiments:
 *   git archive 90b1caa | tar -x -C /tmp/gw-90b1caa && ln -s $PWD/node_modules /tmp/gw-90b1caa/
 *   (cd /tmp/gw-90b1caa && npx tsc -p tsconfig.build.json)
 *   node bench/experiments/patched-build.js /tmp/gw-90b1caa
 *
 * A  publisher.pump(): pack a batch once and send its packs as the in-flight window opens,
 *    instead of re-reading and re-packing up to max_read_records_count records per publish.
 * B  packRecords(): telemetry and attributes records of a run packed apart (env BENCH_EXP_B=1),
 *    instead of a new publish at every change of kind. Unsafe on a failed publish (the packs'
 *    id ranges overlap) — good enough to measure, not to ship.
 * C  the Central System's listen backlog from env BENCH_EXP_BACKLOG (Node's default is 511).
 *
 * It fails loudly when a patched spot is not there.
 */
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(process.argv[2] ?? join(import.meta.dirname, '../..'));
const out = mkdtempSync(join(tmpdir(), 'tb-ocpp-patched-'));
cpSync(join(ROOT, 'dist'), join(out, 'dist'), { recursive: true });
cpSync(join(ROOT, 'package.json'), join(out, 'package.json'));
const REPO = resolve(import.meta.dirname, '../..');
symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
symlinkSync(join(ROOT, 'schemas'), join(out, 'schemas'));

function patch(file, from, to) {
  const path = join(out, 'dist', file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`patch target not found in dist/${file}: ${from.slice(0, 60)}…`);
  writeFileSync(path, text.replace(from, to));
}

// A: pack once per batch.
patch(
  'thingsboard/publisher.js',
  `            while (client.connected && this.inflight < this.maxInflight) {
                const batch = outbox.readBatch(this.lastSentId, maxReadRecords);
                if (batch.length === 0)
                    break;
                const packs = packRecords(batch, maxPayloadBytes);
                for (const pack of packs) {
                    if (this.inflight >= this.maxInflight || !client.connected)
                        break;
                    this.send(pack);
                }
            }`,
  `            this.ready ??= [];
            this.readyIdx ??= 0;
            while (client.connected && this.inflight < this.maxInflight) {
                if (this.readyIdx >= this.ready.length) {
                    const batch = outbox.readBatch(this.lastSentId, maxReadRecords);
                    if (batch.length === 0)
                        break;
                    this.ready = packRecords(batch, maxPayloadBytes);
                    this.readyIdx = 0;
                }
                this.send(this.ready[this.readyIdx++]);
            }`,
);
patch(
  'thingsboard/publisher.js',
  `this.lastSentId = Math.min(this.lastSentId, pack.fromId - 1);`,
  `this.lastSentId = Math.min(this.lastSentId, pack.fromId - 1);
            this.ready = [];
            this.readyIdx = 0;`,
);

// B: pack telemetry and attributes of a run apart.
patch(
  'thingsboard/pack.js',
  `export function packRecords(records, maxBytes) {`,
  `export function packRecords(records, maxBytes) {
    if (process.env.BENCH_EXP_B === '1') return packByKind(records, maxBytes);
    return packRecordsOrig(records, maxBytes);
}
function packByKind(records, maxBytes) {
    const out = [];
    let i = 0;
    while (i < records.length) {
        const r = records[i];
        if (r.kind === 'connect' || r.kind === 'disconnect') { out.push(single(r)); i++; continue; }
        let j = i;
        while (j < records.length && records[j].kind !== 'connect' && records[j].kind !== 'disconnect') j++;
        const run = records.slice(i, j);
        const from = run[0].id, to = run[run.length - 1].id;
        for (const p of packRecordsOrig(run.filter((x) => x.kind === 'telemetry'), maxBytes)) out.push({ ...p, fromId: from });
        for (const p of packRecordsOrig(run.filter((x) => x.kind === 'attributes'), maxBytes)) out.push({ ...p, fromId: from, toId: to });
        i = j;
    }
    return out;
}
function packRecordsOrig(records, maxBytes) {`,
);

// C: listen backlog.
patch(
  'ocpp/server.js',
  `this.http.listen(port, host, () => {`,
  `this.http.listen({ port, host, backlog: Number(process.env.BENCH_EXP_BACKLOG ?? 511) }, () => {`,
);

process.stdout.write(`${join(out, 'dist/cli.js')}\n`);
