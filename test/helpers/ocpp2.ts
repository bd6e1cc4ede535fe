/**
 * Builders for OCPP 2.0.1 / 2.1 charge point messages (the same shapes in both versions for
 * everything used here), valid against the official schemas unless a test overrides a field.
 */

export function aBootNotification2(
  station: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    reason: 'PowerUp',
    chargingStation: { vendorName: 'Acme', model: 'Wallbox 201', serialNumber: 'SN-201', ...station },
    ...overrides,
  };
}

export function aSampledValue2(
  value: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return { value, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' }, ...overrides };
}

export function aTransactionEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventType: 'Updated',
    timestamp: '2026-11-23T10:05:00.000Z',
    triggerReason: 'MeterValuePeriodic',
    seqNo: 1,
    transactionInfo: { transactionId: 'TX-1', chargingState: 'Charging' },
    evse: { id: 1, connectorId: 1 },
    meterValue: [
      {
        timestamp: '2026-11-23T10:04:00.000Z',
        sampledValue: [
          aSampledValue2(1234.5),
          aSampledValue2(229.8, { measurand: 'Voltage', unitOfMeasure: { unit: 'V' } }),
        ],
      },
    ],
    ...overrides,
  };
}

export function aMeterValues2(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    evseId: 1,
    meterValue: [{ timestamp: '2026-11-23T10:06:00.000Z', sampledValue: [aSampledValue2(1300.25)] }],
    ...overrides,
  };
}
