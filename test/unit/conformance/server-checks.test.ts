// The list of server checks: unique names that --only can select, each tied to a
// section of docs/protocol.md.
import { describe, expect, it } from 'vitest';
import { SERVER_CHECKS } from '../../../src/conformance/server-checks/index.js';
import { selectById } from '../../../src/conformance/select-checks.js';
import { RexecError } from '../../../src/errors.js';

describe('server checks', () => {
  it('have unique kebab-case ids, a docs/protocol.md section (1 to 8) and a title', () => {
    const ids = SERVER_CHECKS.map((check) => check.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const check of SERVER_CHECKS) {
      expect(check.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(check.section).toMatch(/^[1-8](\.[1-5])?$/);
      expect(check.title.length).toBeGreaterThan(10);
    }
  });

  it('cover every section of the contract', () => {
    const sections = new Set(SERVER_CHECKS.map((check) => check.section.split('.')[0]));
    expect([...sections].sort()).toEqual(['1', '2', '3', '4', '5', '6', '8']);
  });
});

describe('selectById', () => {
  const items = [{ id: 'auth-a' }, { id: 'auth-b' }, { id: 'author' }, { id: 'ping' }];

  it('takes full ids and prefixes that end at a dash, in list order', () => {
    expect(selectById(items, [])).toEqual(items);
    expect(selectById(items, ['ping', 'auth']).map((item) => item.id)).toEqual(['auth-a', 'auth-b', 'ping']);
    expect(selectById(items, ['author']).map((item) => item.id)).toEqual(['author']);
  });

  it('refuses names that select nothing, with CONFIG', () => {
    const error = (() => {
      try {
        selectById(items, ['aut', 'ping']);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RexecError);
    expect(error).toMatchObject({ code: 'CONFIG', message: 'no check named "aut" (--list shows them)' });
  });
});
