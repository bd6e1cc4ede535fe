/**
 * Our own recent publishes, remembered briefly so that their echo from a plain MQTT broker can be
 * recognised (ThingsBoard never sends a client its own publishes back). Bounded in size and time.
 */

/** How long a publish of ours is remembered to recognise its echo. */
const ECHO_WINDOW_MS = 30_000;
const MAX_REMEMBERED_ECHOES = 4096;

export class EchoMemory {
  /** topic + "\n" + payload → [count, expires at] of our own recent publishes. */
  private readonly echoes = new Map<string, [number, number]>();

  remember(topic: string, payload: string): void {
    const now = Date.now();
    if (this.echoes.size >= MAX_REMEMBERED_ECHOES) {
      for (const [key, [, expires]] of this.echoes) {
        if (expires <= now || this.echoes.size >= MAX_REMEMBERED_ECHOES) this.echoes.delete(key);
        else break;
      }
    }
    const key = `${topic}\n${payload}`;
    const seen = this.echoes.get(key);
    // Re-inserted so the map stays ordered by expiry.
    this.echoes.delete(key);
    this.echoes.set(key, [(seen?.[0] ?? 0) + 1, now + ECHO_WINDOW_MS]);
  }

  /** True, once per remembered publish, when `text` on `topic` is one of ours coming back. */
  isEcho(topic: string, text: string): boolean {
    const key = `${topic}\n${text}`;
    const seen = this.echoes.get(key);
    if (!seen) return false;
    if (seen[1] <= Date.now()) {
      this.echoes.delete(key);
      return false;
    }
    if (seen[0] <= 1) this.echoes.delete(key);
    else seen[0]--;
    return true;
  }
}
