/**
 * OCPP 1.6J as a simulated charge point speaks it: BootNotification, StatusNotification per
 * connector, Authorize → StartTransaction → MeterValues → StopTransaction, and the answers to
 * RemoteStart/StopTransaction, Reset, Get/ChangeConfiguration, TriggerMessage, DataTransfer,
 * ChangeAvailability, UnlockConnector and ClearCache.
 */
import type { Sample } from './meter.js';
import { admitted, bootAnswer, type ConnectorPhase, type Dialect } from './dialect.js';

const STATUS: Record<ConnectorPhase, string> = {
  available: 'Available',
  preparing: 'Preparing',
  charging: 'Charging',
  finishing: 'Finishing',
  unavailable: 'Unavailable',
};

/** Read-only keys reported by GetConfiguration besides the writable settings. */
const READ_ONLY = new Set(['NumberOfConnectors', 'SupportedFeatureProfiles']);

const iso = (ms: number) => new Date(ms).toISOString();

function sampledValues(s: Sample, phases: number, context: string): Record<string, unknown>[] {
  return [
    {
      value: String(s.energyWh),
      context,
      measurand: 'Energy.Active.Import.Register',
      unit: 'Wh',
      location: 'Outlet',
    },
    { value: String(s.powerW), context, measurand: 'Power.Active.Import', unit: 'W', location: 'Outlet' },
    {
      value: String(s.currentA),
      context,
      measurand: 'Current.Import',
      unit: 'A',
      phase: 'L1',
      location: 'Outlet',
    },
    {
      value: String(s.voltageV),
      context,
      measurand: 'Voltage',
      unit: 'V',
      phase: phases === 3 ? 'L1-N' : 'L1-N',
    },
    { value: String(s.socPercent), context, measurand: 'SoC', unit: 'Percent', location: 'EV' },
  ];
}

export const OCPP16_DIALECT: Dialect = {
  meterIntervalSetting: 'MeterValueSampleInterval',
  heartbeatSetting: 'HeartbeatInterval',

  defaultSettings() {
    return [
      ['HeartbeatInterval', '300'],
      ['MeterValueSampleInterval', '10'],
      [
        'MeterValuesSampledData',
        'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC',
      ],
      ['ConnectionTimeOut', '60'],
      ['SupportedFeatureProfiles', 'Core,RemoteTrigger'],
    ];
  },

  async boot(ctx) {
    const answer = await ctx.client.call('BootNotification', {
      chargePointVendor: 'Simulator',
      chargePointModel: 'SIM-16',
      chargePointSerialNumber: `SN-${ctx.id}`.slice(0, 25),
      firmwareVersion: '1.0.0',
    });
    return bootAnswer(answer);
  },

  async heartbeat(ctx) {
    await ctx.client.call('Heartbeat', {});
  },

  async status(ctx, c) {
    await ctx.client.call('StatusNotification', {
      connectorId: c.id,
      errorCode: 'NoError',
      status: STATUS[c.phase],
      timestamp: iso(ctx.now()),
    });
  },

  async authorize(ctx, idTag) {
    const answer = await ctx.client.call('Authorize', { idTag });
    const info = answer.idTagInfo as { status?: string } | undefined;
    return info?.status === 'Accepted';
  },

  async startTransaction(ctx, c) {
    const session = c.session;
    if (!session) return false;
    const answer = await ctx.client.call('StartTransaction', {
      connectorId: c.id,
      idTag: session.idTag,
      meterStart: Math.round(c.registerWh),
      timestamp: iso(ctx.now()),
    });
    if (typeof answer.transactionId === 'number') session.transactionId = answer.transactionId;
    // 1.6 §5.9: an idTag the Central System refuses ends the transaction (StopTransactionOnInvalidId).
    return admitted(answer.idTagInfo);
  },

  async meterValues(ctx, c, sample, periodic) {
    const payload: Record<string, unknown> = {
      connectorId: c.id,
      meterValue: [
        {
          timestamp: iso(ctx.now()),
          sampledValue: sampledValues(
            sample,
            c.session?.meter.phases ?? 3,
            periodic ? 'Sample.Periodic' : 'Trigger',
          ),
        },
      ],
    };
    if (typeof c.session?.transactionId === 'number') payload.transactionId = c.session.transactionId;
    await ctx.client.call('MeterValues', payload);
  },

  async stopTransaction(ctx, c, reason) {
    const session = c.session;
    if (!session || typeof session.transactionId !== 'number') return;
    await ctx.client.call('StopTransaction', {
      transactionId: session.transactionId,
      idTag: session.idTag,
      meterStop: Math.round(c.registerWh),
      timestamp: iso(ctx.now()),
      reason,
    });
  },

  installHandlers(ctx) {
    const { client, settings } = ctx;
    client.handle('RemoteStartTransaction', (p) => ({
      status: ctx.remoteStart(String(p.idTag), typeof p.connectorId === 'number' ? p.connectorId : undefined)
        ? 'Accepted'
        : 'Rejected',
    }));
    client.handle('RemoteStopTransaction', (p) => ({
      status: ctx.remoteStop(p.transactionId as number) ? 'Accepted' : 'Rejected',
    }));
    client.handle('Reset', () => {
      ctx.reboot();
      return { status: 'Accepted' };
    });
    client.handle('GetConfiguration', (p) => {
      const wanted = Array.isArray(p.key) ? (p.key as string[]) : [...settings.keys()];
      const configurationKey = wanted
        .filter((k) => settings.has(k))
        .map((key) => ({ key, readonly: READ_ONLY.has(key), value: settings.get(key) ?? '' }));
      const unknownKey = wanted.filter((k) => !settings.has(k));
      return unknownKey.length > 0 ? { configurationKey, unknownKey } : { configurationKey };
    });
    client.handle('ChangeConfiguration', (p) => {
      const key = String(p.key);
      if (!settings.has(key)) return { status: 'NotSupported' };
      if (READ_ONLY.has(key)) return { status: 'Rejected' };
      const value = String(p.value);
      if ((key === 'HeartbeatInterval' || key === 'MeterValueSampleInterval') && !/^\d+$/.test(value)) {
        return { status: 'Rejected' };
      }
      settings.set(key, value);
      return { status: 'Accepted' };
    });
    client.handle('TriggerMessage', (p) => ({
      status: ctx.trigger(
        String(p.requestedMessage),
        typeof p.connectorId === 'number' ? p.connectorId : undefined,
      )
        ? 'Accepted'
        : 'NotImplemented',
    }));
    client.handle('DataTransfer', (p) => ({
      status: 'Accepted',
      ...(typeof p.data === 'string' ? { data: p.data } : {}),
    }));
    client.handle('ChangeAvailability', () => ({ status: 'Accepted' }));
    client.handle('UnlockConnector', () => ({ status: 'Unlocked' }));
    client.handle('ClearCache', () => ({ status: 'Accepted' }));
  },
};
