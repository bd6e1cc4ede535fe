/**
 * Timestamps charge points send (RFC 3339, OCPP's dateTime). Date cannot hold a leap second
 * (`2016-12-31T23:59:60Z`), and Date.parse refuses one although it is a valid RFC 3339 time that a
 * charge point with a GPS or NTP clock may send. It is read as the last millisecond of its minute
 * (…:59.999), so the sample keeps its own time, in order, instead of silently taking the time
 * of receipt.
 */
const LEAP_SECOND = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:)60(?:\.\d+)?(Z|[+-]\d\d:?\d\d)$/i;

/** Milliseconds since the epoch, or undefined when the text is not a time Date can place. */
export function parseTimestamp(text: string): number | undefined {
  const ms = Date.parse(text);
  if (!Number.isNaN(ms)) return ms;
  const leap = LEAP_SECOND.exec(text);
  if (leap === null) return undefined;
  const clamped = Date.parse(`${leap[1]!}59.999${leap[2]!}`);
  return Number.isNaN(clamped) ? undefined : clamped;
}
