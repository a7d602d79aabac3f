// Seeing the server's processes from outside: a command on a second connection asks
// which pids are still alive (a zombie counts as gone), polling on the server so that
// a wait costs one request. This is how a black box learns that a process outlived
// its connection (docs/protocol.md section 6).
import { fail, skip } from './check.js';
import { runCommand } from './replies.js';
import type { ServerContext } from './server-context.js';

// $1: how many polls, 0.1 s apart; then the pids. Prints the pids still alive after the
// last poll (or as soon as none is).
const ALIVE_SCRIPT = `
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/stat" ]; then
    state=$(sed 's/^.*) //' "/proc/$1/stat" | cut -c1)
    [ "$state" != Z ] && [ "$state" != X ] || return 1
  fi
  return 0
}
polls=$1; shift
i=1
while :; do
  left=
  for pid in "$@"; do if alive "$pid"; then left="$left $pid"; fi; done
  if [ -z "$left" ] || [ "$i" -ge "$polls" ]; then printf '%s' "$left"; exit 0; fi
  i=$((i + 1))
  sleep 0.1
done`;

/** The pids of `pids` alive on the server after polling for up to `withinMs` until none is. */
export async function alivePids(context: ServerContext, pids: readonly number[], withinMs = 0): Promise<number[]> {
  const probe = await context.ready();
  const polls = Math.max(1, Math.ceil(withinMs / 100));
  const outcome = await runCommand(
    probe,
    1,
    { argv: ['sh', '-c', ALIVE_SCRIPT, 'sh', String(polls), ...pids.map(String)] },
    withinMs + context.waitMs,
  );
  probe.destroy();
  if (outcome.exit?.['code'] !== 0) {
    fail(`the process check on a second connection did not run: ${JSON.stringify(outcome.error ?? outcome.exit)}`);
  }
  return outcome.stdout
    .toString('utf8')
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '')
    .map(Number);
}

/** Skips the check unless every pid is seen alive from a second connection. */
export async function requireVisible(context: ServerContext, pids: readonly number[]): Promise<void> {
  const alive = await alivePids(context, pids);
  if (alive.length !== pids.length) {
    skip(
      `a second connection cannot see the processes of the first (pids ${pids.join(', ')}; seen: ${alive.join(', ') || 'none'}): ` +
        'commands may run in separate PID namespaces, so what outlives a connection cannot be observed',
    );
  }
}

/** How long processes may take to end once their connection is gone: the grace period, and a margin. */
export function endWithinMs(context: ServerContext): number {
  return context.graceMs + Math.ceil(context.waitMs / 2);
}
