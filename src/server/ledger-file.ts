// Where a server's ledger of process groups lives, and what happens to the groups a
// killed predecessor on the same address left (group-ledger.ts).
import { join } from 'node:path';
import { endLeftGroups, GroupLedger } from './group-ledger.js';
import type { ServerLogger } from './logger.js';

/** The ledger's file in `stateDir` for a listening address: one per address. */
export function ledgerPath(stateDir: string, address: { host: string; port: number }): string {
  return join(stateDir, `groups-${address.host.replace(/[^A-Za-z0-9._-]/g, '_')}-${address.port}`);
}

/**
 * Opens the ledger for `address` and ends what a previous server left in it (SIGTERM,
 * SIGKILL after `graceMs`). A ledger that cannot be opened is logged and done without:
 * it is a safety net, not a condition for serving.
 */
export function openLedger(
  stateDir: string,
  address: { host: string; port: number },
  graceMs: number,
  logger: ServerLogger,
): GroupLedger | undefined {
  const path = ledgerPath(stateDir, address);
  try {
    const { ledger, left } = GroupLedger.open(path);
    const ended = endLeftGroups(left, graceMs);
    if (ended.length > 0) {
      logger.warn(
        { groups: ended, ledger: path },
        'ending process groups a previous rexecd on this address left running',
      );
    }
    return ledger;
  } catch (error) {
    logger.error(
      { ledger: path, err: (error as Error).message },
      'no ledger of process groups: a crash would leave commands running',
    );
    return undefined;
  }
}
