/**
 * Who takes a charge point's DataTransfer (OCPP 1.6 §4.3, 2.0.1 P02): the answer says whether
 * anything at this Central System understands the message.
 *
 * - Accepted when an `attributes`/`timeseries` entry of the charge point's chargePoints entry
 *   names DataTransfer in its messageTypeFilter (the mapping takes every DataTransfer, whatever
 *   its vendor: that is how configurations written for the Python connector use it), or when
 *   `dataTransferVendors` lists the vendorId (and, if that entry lists messageIds, the messageId);
 * - UnknownMessageId when the vendor is listed with messageIds and this one is not among them;
 * - UnknownVendorId otherwise.
 */
import type { ChargePointConfig } from '../config/types.js';
import type { CallContext, ConnectorFeature } from '../connector/features.js';

export type DataTransferStatus = 'Accepted' | 'UnknownVendorId' | 'UnknownMessageId';

export function dataTransferStatus(
  entry: ChargePointConfig,
  payload: Record<string, unknown>,
): DataTransferStatus {
  const mapped = [...entry.attributes, ...entry.timeseries].some((m) =>
    m.messageTypes.includes('DataTransfer'),
  );
  if (mapped) return 'Accepted';
  const vendor = entry.dataTransferVendors.find((v) => v.vendorId === payload.vendorId);
  if (!vendor) return 'UnknownVendorId';
  if (vendor.messageIds === undefined) return 'Accepted';
  return typeof payload.messageId === 'string' && vendor.messageIds.includes(payload.messageId)
    ? 'Accepted'
    : 'UnknownMessageId';
}

export class DataTransferFeature implements ConnectorFeature {
  readonly name = 'dataTransfer';
  readonly counters = { accepted: 0, unknownVendorId: 0, unknownMessageId: 0 };
  readonly onCall = {
    DataTransfer: (ctx: CallContext): void => {
      const status = dataTransferStatus(ctx.connection.entry, ctx.payload);
      if (status === 'Accepted') this.counters.accepted++;
      else if (status === 'UnknownVendorId') this.counters.unknownVendorId++;
      else this.counters.unknownMessageId++;
      ctx.response.status = status;
    },
  };
}
