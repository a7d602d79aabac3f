// The local side of `rexec run -t`: our terminal goes raw so that every key (Ctrl-C
// included) reaches the remote program, its size goes with the request and with every
// resize, and it is restored whatever happens (exit, error, signal).
import { spawnSync } from 'node:child_process';
import type { RemoteProcess } from '../../../client/index.js';
import type { CliIo } from '../../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../core.js';

/** What `exec.pty` asks for: our terminal's size and type (80x24 when not a terminal). */
export function localTerminalSize(io: CliIo): { cols: number; rows: number; term: string } {
  const out = io.stdout as { columns?: number; rows?: number };
  const term = process.env['TERM'];
  return {
    cols: out.columns && out.columns > 0 ? out.columns : 80,
    rows: out.rows && out.rows > 0 ? out.rows : 24,
    term: term !== undefined && /^[A-Za-z0-9._+-]{1,64}$/.test(term) ? term : 'xterm-256color',
  };
}

type RawCapable = { isTTY?: boolean; isRaw?: boolean; fd?: unknown; setRawMode?: (raw: boolean) => unknown };

/**
 * Puts our stdin in raw mode (when it is a terminal) and sends resizes to `remote`.
 * Returns a function that undoes both; it is also run if the process exits first.
 */
export function attachTerminal(io: CliIo, remote: RemoteProcess): () => void {
  const input = io.stdin as unknown as RawCapable;
  const wasRaw = input.isRaw === true;
  const raw = input.isTTY === true && typeof input.setRawMode === 'function';
  // Saved before anything changes: what the restore puts back (undefined without stty).
  const saved = raw && typeof input.fd === 'number' ? stty(input.fd, ['-g']) : undefined;
  if (raw) input.setRawMode?.(true);
  // Node's raw mode keeps output processing on (a newline goes out as CR LF): the remote
  // terminal does that already, and a program that turned it off (ONLCR) would get
  // stray CRs. Only when the settings could be saved, so that they can be restored.
  if (saved !== undefined) stty(input.fd as number, ['-opost']);
  const onResize = (): void => {
    const { cols, rows } = localTerminalSize(io);
    remote.resize(cols, rows);
  };
  io.stdout.on('resize', onResize);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    io.stdout.off('resize', onResize);
    if (raw) input.setRawMode?.(wasRaw);
    if (saved !== undefined) stty(input.fd as number, [saved]);
    process.off('exit', restore);
  };
  // Whatever ends the program, the terminal is given back as it was.
  process.on('exit', restore);
  return restore;
}

// Runs stty on the terminal `fd`; its output (for -g), or undefined when it failed or is
// missing. Synchronous: the restore also runs in an 'exit' handler.
function stty(fd: number, args: readonly string[]): string | undefined {
  const result = spawnSync('stty', args, { stdio: [fd, 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 });
  if (result.error !== undefined || result.status !== 0) return undefined;
  const output = result.stdout.trim();
  return args[0] === '-g' && output === '' ? undefined : output;
}
