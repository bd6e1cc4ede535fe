/** Who takes a DataTransfer: a mapping entry, a configured vendor/messageId, or no one. */
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/expressions/template.js';
import type { ChargePointConfig } from '../../src/config/types.js';
import { dataTransferStatus } from '../../src/csms/data-transfer.js';

function anEntry(overrides: Partial<ChargePointConfig> = {}): ChargePointConfig {
  return {
    idRegexpPattern: 'CP',
    idRegexp: /^CP$/,
    deviceNameExpression: compileTemplate('${ChargePointId}'),
    deviceTypeExpression: compileTemplate('x'),
    attributes: [],
    timeseries: [],
    attributeUpdates: [],
    serverSideRpc: [],
    registrationRetryInterval: 30,
    sessions: false,
    dataTransferVendors: [],
    sampledValuesAsText: false,
    ...overrides,
  };
}

const mapped = anEntry({
  timeseries: [
    {
      messageTypes: ['MeterValues', 'DataTransfer'],
      key: compileTemplate('k'),
      value: compileTemplate('${data}'),
    },
  ],
});
const vendors = anEntry({
  dataTransferVendors: [{ vendorId: 'acme' }, { vendorId: 'bolt', messageIds: ['price', 'tariff'] }],
});

describe('dataTransferStatus', () => {
  it.each([
    ['a mapping entry takes every vendor', mapped, { vendorId: 'anyone' }, 'Accepted'],
    ['nothing configured', anEntry(), { vendorId: 'acme' }, 'UnknownVendorId'],
    ['a listed vendor', vendors, { vendorId: 'acme', messageId: 'x' }, 'Accepted'],
    ['vendorIds compare exactly', vendors, { vendorId: 'ACME' }, 'UnknownVendorId'],
    ['a listed messageId', vendors, { vendorId: 'bolt', messageId: 'tariff' }, 'Accepted'],
    ['another messageId', vendors, { vendorId: 'bolt', messageId: 'other' }, 'UnknownMessageId'],
    ['no messageId where they are listed', vendors, { vendorId: 'bolt' }, 'UnknownMessageId'],
  ] as const)('%s → %s', (_name, entry, payload, status) => {
    expect(dataTransferStatus(entry, payload)).toBe(status);
  });
});
