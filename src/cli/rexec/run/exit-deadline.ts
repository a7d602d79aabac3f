// `--timeout` is the server's to enforce: it ends the command's group (SIGTERM, SIGKILL
// after its grace period, 2 s by default) and sends `exit`. A server that does not (wedged,
// or hostile: `started`, then silence) must not hold rexec, a script or a fan-out for
// ever. So with --timeout, rexec waits that long and this allowance, then gives up: the
// connection closes, on which a real server ends the command.

/** How long after --timeout rexec still waits for the server's `exit`. */
export const EXIT_ALLOWANCE_MS = 20_000;

/** Calls `late` once --timeout and the allowance have passed; the function returned cancels it. */
export function exitDeadline(timeoutMs: number | undefined, late: (message: string) => void): () => void {
  if (timeoutMs === undefined) return () => {};
  const timer = setTimeout(
    () =>
      late(
        `no exit from the server ${EXIT_ALLOWANCE_MS / 1000} s after --timeout ${timeoutMs} ms: ` +
          'gave up on it (the connection is closed, on which the server ends the command)',
      ),
    timeoutMs + EXIT_ALLOWANCE_MS,
  );
  return () => clearTimeout(timer);
}
