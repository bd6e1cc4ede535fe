/**
 * Processes a test started indirectly (through npm or script(1)), found by their command line in
 * /proc so that the test can signal them by id and check they are gone.
 */
import { readdirSync, readFileSync } from 'node:fs';

function statOf(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Live (not zombie) gateway processes whose command line names `marker` (e.g. a unique config path). */
export function gatewayPids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(marker) && cmd.includes('dist/cli.js') && statOf(Number(entry))[0] !== 'Z') {
        pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function parentOf(pid: number): number {
  return Number(statOf(pid)[1]);
}
