/**
 * permessage-deflate at the Central System, kept cheap: OCPP 2.0.1 part 4 §3.3 asks a CSMS to
 * support it, and a zlib context per socket would cost more than everything else an idle charge
 * point holds.
 */
import type { PerMessageDeflateOptions, WebSocket } from 'ws';

const DEFLATE = 'permessage-deflate';

/**
 * Offered with no context takeover either way, and the gateway never compresses what it sends
 * (each message may be sent uncompressed): a deflate context costs ~256 KB per socket, and ws
 * keeps it once made. Inflating what a charge point compressed is released after each message
 * (see releaseInflate), so an idle connection holds no zlib state.
 */
export function perMessageDeflate(enabled: boolean): PerMessageDeflateOptions | false {
  return enabled
    ? {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        threshold: Number.MAX_SAFE_INTEGER,
        concurrencyLimit: 4,
      }
    : false;
}

/** Whether the handshake negotiated permessage-deflate. */
export function compressed(ws: WebSocket): boolean {
  return ws.extensions.includes(DEFLATE);
}

interface InflateHolder {
  _inflate?: { close(): void } | null;
  params?: Record<string, unknown>;
}

/**
 * ws resets, but keeps, a socket's inflate context after each message even without context
 * takeover (~30 KB measured per connection that ever sent a compressed frame). Closing it once
 * the message has been delivered lets ten thousand chargers that compress cost what idle ones
 * do; ws creates a new one for the next compressed frame. Reaches into ws' PerMessageDeflate
 * (`_extensions`, `_inflate`), checked against ws 8 — a no-op if those names ever change.
 */
export function releaseInflate(ws: WebSocket): void {
  const extensions = (ws as unknown as { _extensions?: Record<string, InflateHolder> })._extensions;
  const deflate = extensions?.[DEFLATE];
  if (!deflate?._inflate || deflate.params?.client_no_context_takeover !== true) return;
  deflate._inflate.close();
  deflate._inflate = null;
}
