/**
 * Where a SQLite database may live: checked before SQLite touches the path, because on some paths
 * SQLite blocks for ever (a FIFO) or fails obscurely (a device, a folder on /proc or /sys).
 */
import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '../errors.js';

/** statfs magic numbers of Linux pseudo file systems, where no database can live. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2fs'],
  [0xcafe4a11, 'bpffs'],
  [0x6165676c, 'pstorefs'],
  [0x62656570, 'configfs'],
]);

/**
 * Refuses, before SQLite touches it, a path that cannot hold a database: an existing path that is
 * not a regular file (a device, a FIFO, a folder — SQLite may block on it or fail obscurely) or a
 * folder on a pseudo file system such as /proc or /sys.
 */
export function checkHostable(path: string): void {
  let kind: string | undefined;
  try {
    const st = statSync(path);
    if (!st.isFile()) {
      kind = st.isDirectory()
        ? 'a folder'
        : st.isFIFO()
          ? 'a FIFO'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
    }
  } catch {
    // Does not exist yet (SQLite creates it), or cannot be looked at: opening it will say why.
  }
  if (kind !== undefined) {
    throw new StorageError(
      `cannot use the database ${path}: it is ${kind}; storage.data_file_path must name a regular file (or one to create)`,
    );
  }
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    let type: number;
    try {
      type = statfsSync(folder).type;
    } catch {
      if (dirname(folder) === folder) return;
      continue; // a folder still to be created: look at its parent
    }
    const fileSystem = PSEUDO_FILE_SYSTEMS.get(type);
    if (fileSystem !== undefined) {
      throw new StorageError(
        `cannot use the database ${path}: ${folder} is on ${fileSystem}, which cannot hold files; choose a folder on a disk for storage.data_file_path`,
      );
    }
    return;
  }
}
