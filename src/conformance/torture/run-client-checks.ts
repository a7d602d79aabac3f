// `rexec conformance client -- CMD...`: starts the torture server with a fresh key,
// runs CMD once per scenario (the scenario's name appended as the command to run),
// and compares what CMD printed and returned with what the scenario's frames say.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RexecError } from '../../errors.js';
import { firstDifference } from '../bytes.js';
import { fail } from '../check.js';
import type { Check, CheckResult } from '../check.js';
import { runChecks } from '../run-checks.js';
import { selectById } from '../select-checks.js';
import { runClient } from './client-process.js';
import type { ClientRun } from './client-process.js';
import { SCENARIOS } from './scenarios.js';
import type { Scenario } from './scenarios.js';
import { TortureServer } from './torture-server.js';

/** Options of a client run. */
export interface ClientRunOptions {
  /** The client under test and its first arguments (e.g. `rexec run --`). */
  readonly command: readonly string[];
  /** Scenario names to run; all when empty. */
  readonly only?: readonly string[] | undefined;
  /** Longest one run of the client may take (default 30 s). */
  readonly scenarioDeadlineMs?: number | undefined;
  /** The client's environment before the REXEC_* variables are set (default: ours). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The user name the client is given in REXEC_USER (default "conformance"). */
  readonly user?: string | undefined;
  readonly onResult?: ((result: CheckResult) => void) | undefined;
}

/** The outcome of a run. */
export interface ClientReport {
  readonly subject: string;
  readonly results: readonly CheckResult[];
}

/** The deadline of one run of the client under test, by default. */
export const DEFAULT_SCENARIO_DEADLINE_MS = 30_000;

interface ClientContext {
  readonly server: TortureServer;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs the scenarios; rejects with CONFIG for an empty command or an unknown name. */
export async function runClientChecks(options: ClientRunOptions): Promise<ClientReport> {
  if (options.command.length === 0) throw new RexecError('CONFIG', 'no client command given (after --)');
  const scenarios = selectById(
    SCENARIOS.map((scenario) => ({ ...scenario, id: scenario.name })),
    options.only ?? [],
  );
  const deadlineMs = options.scenarioDeadlineMs ?? DEFAULT_SCENARIO_DEADLINE_MS;
  const key = randomBytes(32).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), 'rexec-torture-'));
  let server: TortureServer | undefined;
  try {
    const keyFile = join(dir, 'key');
    await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
    server = await TortureServer.start(key, SCENARIOS);
    const env: NodeJS.ProcessEnv = {
      ...(options.env ?? process.env),
      REXEC_HOST: '127.0.0.1',
      REXEC_PORT: String(server.port),
      REXEC_KEY_FILE: keyFile,
      REXEC_USER: options.user ?? 'conformance',
    };
    const context: ClientContext = { server, env };
    const checks = scenarios.map((scenario) => scenarioCheck(scenario, options.command, deadlineMs));
    const results = await runChecks(checks, {
      contextFor: () => context,
      release: () => server?.expect(undefined),
      checkDeadlineMs: deadlineMs + 10_000,
      onResult: options.onResult,
    });
    return { subject: options.command.join(' '), results };
  } finally {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function scenarioCheck(
  scenario: Scenario & { id: string },
  command: readonly string[],
  deadlineMs: number,
): Check<ClientContext> {
  return {
    id: scenario.name,
    section: scenario.section,
    title: scenario.title,
    async run({ server, env }) {
      server.expect(scenario);
      const run = await runClient(command, [scenario.name], env, deadlineMs);
      if (run.spawnError !== undefined) fail(run.spawnError);
      const problems = compare(run, scenario, deadlineMs);
      if (problems.length === 0) return;
      const seen = server.observations;
      const context = [
        `server saw: ${seen.connections} connection(s), ${seen.authenticated} authenticated, ` +
          `exec ${JSON.stringify(seen.requests)}${seen.violations.length > 0 ? `; client errors: ${seen.violations.join('; ')}` : ''}`,
      ];
      const said = run.stderr.toString('utf8').replace(/\s+/g, ' ').trim();
      if (said !== '') context.push(`client's stderr: ${said.length > 300 ? `${said.slice(0, 300)}...` : said}`);
      fail([...problems, ...context].join('; '));
    },
  };
}

/** What differs between the run and the scenario's expectation. */
function compare(run: ClientRun, scenario: Scenario, deadlineMs: number): string[] {
  const expected = scenario.expected();
  const problems: string[] = [];
  if (run.timedOut) problems.push(`the client did not finish within ${deadlineMs} ms (killed)`);
  const stdout = difference(run.stdout, expected.stdout);
  if (stdout !== undefined) problems.push(`stdout ${stdout}`);
  if (expected.stderr !== undefined) {
    const stderr = difference(run.stderr, expected.stderr);
    if (stderr !== undefined) problems.push(`stderr ${stderr}`);
  }
  if (!run.timedOut && run.status !== expected.status) {
    const got = run.status === null ? `killed by ${run.signal ?? 'a signal'}` : `exit status ${run.status}`;
    problems.push(`${got}, expected ${expected.status} (section 7)`);
  }
  return problems;
}

function difference(actual: Buffer, expected: Buffer): string | undefined {
  const at = firstDifference(actual, expected);
  if (at === undefined) return undefined;
  const byte = (bytes: Buffer): string =>
    at < bytes.length ? `0x${(bytes[at] as number).toString(16).padStart(2, '0')}` : 'the end';
  return `is ${actual.length} bytes, expected ${expected.length}; first difference at byte ${at} (got ${byte(actual)}, expected ${byte(expected)})`;
}
