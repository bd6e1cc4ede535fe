/**
 * `messageTypeFilter` names OCPP actions, matched exactly against what a charge point sends. A
 * name that is no OCPP action at all is a typo that would silently map nothing: a problem, with
 * the closest action. A real action that no served version lets a charge point send (`Reset`, or
 * `TransactionEvent` on a 1.6-only port) is only a warning: the file may be shared between ports,
 * or the version list may grow, and the entry is harmless meanwhile.
 */
import { OCPP_VERSIONS } from '../ocpp/versions.js';
import { levenshtein } from './keys.js';
import { jsonPath, type ConfigReport } from './report.js';
import type { ChargePointConfig, OcppVersion } from './types.js';

const SPECS = Object.values(OCPP_VERSIONS);
/** Actions a charge point sends (CALL or SEND) in any version: what a filter may name. */
const SENT_BY_CHARGE_POINTS = [
  ...new Set(SPECS.flatMap((s) => [...s.chargePointActions, ...s.sendActions])),
].sort();
const ANY_ACTION = new Set([...SENT_BY_CHARGE_POINTS, ...SPECS.flatMap((s) => [...s.centralSystemActions])]);

function closestAction(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const action of SENT_BY_CHARGE_POINTS) {
    const d = Math.min(levenshtein(name, action), levenshtein(name.toLowerCase(), action.toLowerCase()) + 1);
    if (d < bestDistance) {
      best = action;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(3, Math.floor(name.length / 3))) return best;
  // A truncated name ("Transaction", "Notify"): the shortest action it begins.
  if (name.length < 4) return undefined;
  const lower = name.toLowerCase();
  return SENT_BY_CHARGE_POINTS.filter((a) => a.toLowerCase().startsWith(lower)).sort(
    (a, b) => a.length - b.length,
  )[0];
}

export function checkMessageTypes(
  chargePoints: readonly ChargePointConfig[],
  versions: readonly OcppVersion[],
  file: string,
  report: ConfigReport,
): void {
  const served = versions.map((v) => OCPP_VERSIONS[v]);
  chargePoints.forEach((cp, i) => {
    for (const section of ['attributes', 'timeseries'] as const) {
      cp[section].forEach((mapping, j) => {
        const path = jsonPath(['chargePoints', i, section, j, 'messageTypeFilter']);
        for (const name of mapping.messageTypes) {
          if (!ANY_ACTION.has(name)) {
            const best = closestAction(name);
            report.problem(
              file,
              path,
              `${JSON.stringify(name)} is not an OCPP action` +
                (best === undefined
                  ? ' a charge point sends (e.g. "MeterValues", "StatusNotification", "TransactionEvent")'
                  : ` — did you mean ${JSON.stringify(best)}?`),
            );
          } else if (!served.some((s) => s.chargePointActions.has(name) || s.sendActions.has(name))) {
            const sender = SPECS.filter((s) => s.chargePointActions.has(name) || s.sendActions.has(name));
            report.warn(
              `${file}: ${path.slice(2)}: ${JSON.stringify(name)} is never sent by a charge point on ` +
                `${versions.join('/')}` +
                (sender.length > 0
                  ? ` (only on ${sender.map((s) => s.version).join('/')}), so this mapping applies to no message`
                  : ' (the Central System sends it), so this mapping applies to no message'),
            );
          }
        }
      });
    }
  });
}
