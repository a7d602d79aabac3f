// `--collapse` (with --group), as `dshbak -c` does: hosts whose output is identical are
// printed once, under the names of all of them. A host's output is kept until the end
// (every host must be done before anyone knows which match), but a copy of output
// already kept is let go at once: hosts that agree hold the memory of one.
import { createHash } from 'node:crypto';

/** Output that one or more hosts gave, identically. */
export interface OutputGroup {
  /** The hosts, in the order they were named. */
  readonly labels: string[];
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/** Hosts grouped by identical stdout and stderr. */
export class OutputGroups {
  readonly #byDigest = new Map<string, OutputGroup>();
  readonly #order: (label: string) => number;

  /** `order` gives a host's place in the list as the user named it. */
  constructor(order: (label: string) => number) {
    this.#order = order;
  }

  /** Adds a host's output. True when it is kept (new output); false when it matched kept output, which the caller may let go. */
  add(label: string, stdout: Buffer, stderr: Buffer): boolean {
    const digest = createHash('sha256').update(`${stdout.length}:`).update(stdout).update(stderr).digest('hex');
    const group = this.#byDigest.get(digest);
    if (group !== undefined && group.stdout.equals(stdout) && group.stderr.equals(stderr)) {
      group.labels.push(label);
      return false;
    }
    // A digest collision (never seen in practice) keeps both, under distinct keys.
    this.#byDigest.set(group === undefined ? digest : `${digest}:${label}`, { labels: [label], stdout, stderr });
    return true;
  }

  /** The groups, each host list in order, groups in the order of their first host. */
  groups(): OutputGroup[] {
    const groups = [...this.#byDigest.values()];
    for (const group of groups) group.labels.sort((a, b) => this.#order(a) - this.#order(b));
    return groups.sort((a, b) => this.#order(a.labels[0] as string) - this.#order(b.labels[0] as string));
  }
}
