/**
 * Who sends each OCPP 2.1 action, checked against the specification's message list (OCPP 2.1
 * part 2, "Messages", and each use case's sequence), transcribed here independently of the
 * gateway's tables: every request in schemas/ocpp2.1.json has exactly one direction (DataTransfer
 * both), the 2.0.1 actions keep theirs, and the actions new in 2.1 go the way the specification
 * says — GetTariffs, NotifyAllowedEnergyTransfer and NotifyWebPaymentStarted from the CSMS.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OCPP_VERSIONS } from '../../src/ocpp/versions.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas');

/** The actions (requests) of a version's schema file. */
function schemaActions(file: string, requestSuffix: RegExp): Set<string> {
  const text = readFileSync(resolve(SCHEMAS, file), 'utf8');
  const ids = text.match(/"urn:[A-Za-z0-9]+(?:Request|\.req)"/g) ?? [];
  return new Set(ids.map((id) => id.slice(5, -1).replace(requestSuffix, '')));
}

/** New in OCPP 2.1, sent by the Charging Station. */
const STATION_21 = [
  'BatterySwap', // battery swap station reports a swap (block C)
  'ClosePeriodicEventStream',
  'GetCertificateChainStatus', // the station asks the CSMS for OCSP/CRL status (block M)
  'NotifyDERAlarm',
  'NotifyDERStartStop',
  'NotifyPriorityCharging',
  'NotifySettlement', // a payment terminal's settlement (block C, ad hoc payment)
  'OpenPeriodicEventStream',
  'PullDynamicScheduleUpdate',
  'ReportDERControl',
  'VatNumberValidation',
];

/** New in OCPP 2.1, sent by the CSMS. */
const CSMS_21 = [
  'AdjustPeriodicEventStream',
  'AFRRSignal',
  'ChangeTransactionTariff',
  'ClearDERControl',
  'ClearTariffs',
  'GetDERControl',
  'GetPeriodicEventStream',
  'GetTariffs', // the CSMS reads the tariffs installed on a station (block I)
  'NotifyAllowedEnergyTransfer', // ISO 15118-20 energy transfer modes allowed (block K)
  'NotifyWebPaymentStarted', // the CSMS tells the station a web payment began (block C, dynamic QR code)
  'RequestBatterySwap',
  'SetDefaultTariff',
  'SetDERControl',
  'UpdateDynamicSchedule',
  'UsePriorityCharging',
];

describe('OCPP 2.1 action directions', () => {
  const spec21 = OCPP_VERSIONS['ocpp2.1'];
  const spec201 = OCPP_VERSIONS['ocpp2.0.1'];
  const actions21 = schemaActions('ocpp2.1.json', /Request$/);
  const actions201 = schemaActions('ocpp2.0.1.json', /\.req$/);

  it('every request of the 2.1 schemas has exactly one direction (DataTransfer both)', () => {
    const none = [...actions21].filter(
      (a) =>
        !spec21.chargePointActions.has(a) &&
        !spec21.centralSystemActions.has(a) &&
        !spec21.sendActions.has(a),
    );
    const both = [...actions21].filter(
      (a) => spec21.chargePointActions.has(a) && spec21.centralSystemActions.has(a),
    );
    expect(none).toEqual([]);
    expect(both).toEqual(['DataTransfer']);
  });

  it('the 2.0.1 actions keep their 2.0.1 directions in 2.1', () => {
    for (const action of actions201) {
      expect([action, spec21.chargePointActions.has(action)]).toEqual([
        action,
        spec201.chargePointActions.has(action),
      ]);
      expect([action, spec21.centralSystemActions.has(action)]).toEqual([
        action,
        spec201.centralSystemActions.has(action),
      ]);
    }
  });

  it('the actions new in 2.1 go the way the specification says', () => {
    const added = [...actions21].filter((a) => !actions201.has(a) && !spec21.sendActions.has(a)).sort();
    expect(added).toEqual([...STATION_21, ...CSMS_21].sort());
    expect(
      STATION_21.filter((a) => !spec21.chargePointActions.has(a) || spec21.centralSystemActions.has(a)),
    ).toEqual([]);
    expect(
      CSMS_21.filter((a) => !spec21.centralSystemActions.has(a) || spec21.chargePointActions.has(a)),
    ).toEqual([]);
  });
});
