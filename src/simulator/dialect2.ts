/**
 * OCPP 2.0.1 and 2.1 as a simulated charging station speaks them (the messages used here are the
 * same in both): BootNotification, StatusNotification per EVSE, Authorize → TransactionEvent
 * Started / Updated (periodic meter values) / Ended, and the answers to Request{Start,Stop}
 * Transaction, Reset, Get/SetVariables, TriggerMessage, DataTransfer, ChangeAvailability and
 * UnlockConnector. Settings are "Component.Variable" keys.
 */
import type { Sample } from './meter.js';
import { admitted, bootAnswer, type ConnectorPhase, type Dialect, type StopReason } from './dialect.js';

const STATUS: Record<ConnectorPhase, string> = {
  available: 'Available',
  preparing: 'Occupied',
  charging: 'Occupied',
  finishing: 'Occupied',
  unavailable: 'Unavailable',
};

/** Write-only variables (a credential is never read back, OCPP 2.0.1 B05 / SecurityCtrlr). */
const WRITE_ONLY = new Set(['SecurityCtrlr.BasicAuthPassword']);

const iso = (ms: number) => new Date(ms).toISOString();

const TRIGGER_OF_STOP: Record<StopReason, string> = {
  Local: 'StopAuthorized',
  Remote: 'RemoteStop',
  Reboot: 'ResetCommand',
  DeAuthorized: 'Deauthorized',
};

function sampledValues(s: Sample, context: string): Record<string, unknown>[] {
  return [
    { value: s.energyWh, context, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
    { value: s.powerW, context, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
    { value: s.currentA, context, measurand: 'Current.Import', phase: 'L1', unitOfMeasure: { unit: 'A' } },
    { value: s.voltageV, context, measurand: 'Voltage', phase: 'L1-N', unitOfMeasure: { unit: 'V' } },
    { value: s.socPercent, context, measurand: 'SoC', location: 'EV', unitOfMeasure: { unit: 'Percent' } },
  ];
}

interface VariableRef {
  component: { name: string };
  variable: { name: string };
}

function settingKey(v: VariableRef): string {
  return `${v.component.name}.${v.variable.name}`;
}

export function ocpp2Dialect(model: string): Dialect {
  return {
    meterIntervalSetting: 'SampledDataCtrlr.TxUpdatedInterval',
    heartbeatSetting: 'OCPPCommCtrlr.HeartbeatInterval',

    defaultSettings() {
      return [
        ['OCPPCommCtrlr.HeartbeatInterval', '300'],
        ['SampledDataCtrlr.TxUpdatedInterval', '10'],
        [
          'SampledDataCtrlr.TxUpdatedMeasurands',
          'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC',
        ],
        ['AuthCtrlr.AuthorizeRemoteStart', 'false'],
        ['DeviceDataCtrlr.ItemsPerMessage', '10'],
        ['SecurityCtrlr.BasicAuthPassword', ''],
      ];
    },

    async boot(ctx, reason) {
      const answer = await ctx.client.call('BootNotification', {
        reason,
        chargingStation: {
          vendorName: 'Simulator',
          model,
          serialNumber: `SN-${ctx.id}`.slice(0, 25),
          firmwareVersion: '1.0.0',
        },
      });
      return bootAnswer(answer);
    },

    async heartbeat(ctx) {
      await ctx.client.call('Heartbeat', {});
    },

    async status(ctx, c) {
      await ctx.client.call('StatusNotification', {
        timestamp: iso(ctx.now()),
        connectorStatus: STATUS[c.phase],
        evseId: c.id,
        connectorId: 1,
      });
    },

    async authorize(ctx, idTag) {
      const answer = await ctx.client.call('Authorize', { idToken: { idToken: idTag, type: 'ISO14443' } });
      const info = answer.idTokenInfo as { status?: string } | undefined;
      return info?.status === 'Accepted';
    },

    async startTransaction(ctx, c, remote) {
      const session = c.session;
      if (!session) return false;
      const sample = session.meter.sample(ctx.now());
      const answer = await ctx.client.call('TransactionEvent', {
        eventType: 'Started',
        timestamp: iso(ctx.now()),
        triggerReason: remote ? 'RemoteStart' : 'Authorized',
        seqNo: session.seqNo++,
        transactionInfo: {
          transactionId: String(session.transactionId),
          chargingState: 'Charging',
          ...(session.remoteStartId === undefined ? {} : { remoteStartId: session.remoteStartId }),
        },
        idToken: { idToken: session.idTag, type: 'ISO14443' },
        evse: { id: c.id, connectorId: 1 },
        meterValue: [{ timestamp: iso(ctx.now()), sampledValue: sampledValues(sample, 'Transaction.Begin') }],
      });
      // 2.0.1 E05: a token the Central System does not accept ends the transaction (Deauthorized).
      return admitted(answer.idTokenInfo);
    },

    async meterValues(ctx, c, sample, periodic) {
      const session = c.session;
      const meterValue = [
        {
          timestamp: iso(ctx.now()),
          sampledValue: sampledValues(sample, periodic ? 'Sample.Periodic' : 'Trigger'),
        },
      ];
      if (!session) {
        await ctx.client.call('MeterValues', { evseId: c.id, meterValue });
        return;
      }
      await ctx.client.call('TransactionEvent', {
        eventType: 'Updated',
        timestamp: iso(ctx.now()),
        triggerReason: periodic ? 'MeterValuePeriodic' : 'Trigger',
        seqNo: session.seqNo++,
        transactionInfo: { transactionId: String(session.transactionId), chargingState: 'Charging' },
        meterValue,
      });
    },

    async stopTransaction(ctx, c, reason) {
      const session = c.session;
      if (!session) return;
      const sample = session.meter.sample(ctx.now());
      await ctx.client.call('TransactionEvent', {
        eventType: 'Ended',
        timestamp: iso(ctx.now()),
        triggerReason: TRIGGER_OF_STOP[reason],
        seqNo: session.seqNo++,
        transactionInfo: {
          transactionId: String(session.transactionId),
          chargingState: 'Idle',
          stoppedReason: reason,
        },
        meterValue: [{ timestamp: iso(ctx.now()), sampledValue: sampledValues(sample, 'Transaction.End') }],
      });
    },

    installHandlers(ctx) {
      const { client, settings } = ctx;
      client.handle('RequestStartTransaction', (p) => {
        const token = (p.idToken as { idToken?: string } | undefined)?.idToken ?? 'REMOTE';
        const evse = typeof p.evseId === 'number' ? p.evseId : undefined;
        const ok = ctx.remoteStart(
          token,
          evse,
          typeof p.remoteStartId === 'number' ? p.remoteStartId : undefined,
        );
        return { status: ok ? 'Accepted' : 'Rejected' };
      });
      client.handle('RequestStopTransaction', (p) => ({
        status: ctx.remoteStop(String(p.transactionId)) ? 'Accepted' : 'Rejected',
      }));
      client.handle('Reset', () => {
        ctx.reboot();
        return { status: 'Accepted' };
      });
      client.handle('GetVariables', (p) => ({
        getVariableResult: (p.getVariableData as VariableRef[]).map((v) => {
          const key = settingKey(v);
          const base = { component: v.component, variable: v.variable };
          if (!settings.has(key)) {
            const knownComponent = [...settings.keys()].some((k) => k.startsWith(`${v.component.name}.`));
            return { ...base, attributeStatus: knownComponent ? 'UnknownVariable' : 'UnknownComponent' };
          }
          if (WRITE_ONLY.has(key)) return { ...base, attributeStatus: 'Rejected' };
          return { ...base, attributeStatus: 'Accepted', attributeValue: settings.get(key) ?? '' };
        }),
      }));
      client.handle('SetVariables', (p) => ({
        setVariableResult: (p.setVariableData as (VariableRef & { attributeValue: string })[]).map((v) => {
          const key = settingKey(v);
          const base = { component: v.component, variable: v.variable };
          if (!settings.has(key)) return { ...base, attributeStatus: 'UnknownVariable' };
          if (key.endsWith('Interval') && !/^\d+$/.test(v.attributeValue))
            return { ...base, attributeStatus: 'Rejected' };
          settings.set(key, v.attributeValue);
          return { ...base, attributeStatus: 'Accepted' };
        }),
      }));
      client.handle('TriggerMessage', (p) => {
        const evse = (p.evse as { id?: number } | undefined)?.id;
        return { status: ctx.trigger(String(p.requestedMessage), evse) ? 'Accepted' : 'NotImplemented' };
      });
      client.handle('DataTransfer', (p) => ({
        status: 'Accepted',
        ...(p.data === undefined ? {} : { data: p.data }),
      }));
      client.handle('ChangeAvailability', () => ({ status: 'Accepted' }));
      client.handle('UnlockConnector', () => ({ status: 'Unlocked' }));
    },
  };
}
