// The shipped systemd unit says what README.md and SECURITY.md promise of it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const UNIT = readFileSync(new URL('../../../docs/rexecd.service', import.meta.url), 'utf8');

function directive(name: string): string[] {
  return [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((match) => match[1] as string);
}

describe('docs/rexecd.service', () => {
  it('ends every process of the service with rexecd and restarts it after a failure', () => {
    expect(directive('KillMode')).toEqual(['control-group']);
    expect(directive('Restart')).toEqual(['on-failure']);
  });

  it('drains on stop (SIGTERM) with time for the grace period before systemd kills', () => {
    expect(directive('KillSignal')).toEqual(['SIGTERM']);
    expect(Number(directive('TimeoutStopSec')[0])).toBeGreaterThan(2 * 2);
  });

  it('keeps the ledger directory across restarts, delegates cgroups, protects rexecd from the OOM killer', () => {
    expect(directive('RuntimeDirectory')).toEqual(['rexecd']);
    expect(directive('RuntimeDirectoryPreserve')).toEqual(['yes']);
    expect(directive('Delegate')).toEqual(['yes']);
    expect(Number(directive('OOMScoreAdjust')[0])).toBeLessThan(0);
  });

  it('sets no hardening that commands would inherit and notice', () => {
    for (const name of [
      'ProtectSystem',
      'ProtectHome',
      'PrivateTmp',
      'PrivateDevices',
      'NoNewPrivileges',
      'MemoryDenyWriteExecute',
    ]) {
      expect(directive(name)).toEqual([]);
    }
  });

  it('starts the rexecd program', () => {
    expect(directive('ExecStart')[0]).toMatch(/\/rexecd( |$)/);
  });
});
