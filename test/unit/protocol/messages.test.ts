// parseRequest (client → server) and parseServerMessage (server → client), docs/protocol.md
// sections 3, 4 and 8. Headers come from real JSON text, as they would off the wire.
import { describe, it, expect } from 'vitest';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, SIGNAL_NAMES } from '../../../src/protocol/constants.js';
import { parseHeader } from '../../../src/protocol/frame-decoder.js';
import type { FrameHeader } from '../../../src/protocol/frame.js';
import { isRequestType, parseRequest, parseServerMessage, REQUEST_TYPES } from '../../../src/protocol/messages.js';
import { rexecErrorOf } from './harness.js';

const h = (json: string): FrameHeader => parseHeader(Buffer.from(json, 'utf8'));
const refusal = (json: string): { code: string; id: number | undefined } => {
  const error = rexecErrorOf(() => parseRequest(h(json)));
  return { code: error.code, id: error.id };
};

describe('parseRequest: valid requests', () => {
  it('exec with argv gets the documented defaults', () => {
    expect(parseRequest(h('{"type":"exec","id":1,"argv":["echo","hello"]}'))).toStrictEqual({
      type: 'exec',
      id: 1,
      argv: ['echo', 'hello'],
      command: undefined,
      cwd: undefined,
      env: [],
      timeoutMs: undefined,
      stdin: false,
      stdinAck: false,
      merge: false,
      pty: undefined,
    });
  });

  it('exec with command and every optional member', () => {
    const request = parseRequest(
      h(
        '{"type":"exec","id":2147483647,"command":"ls | wc","cwd":"sub","env":{"A":"1","B":""},"timeoutMs":5000,"stdin":true,"stdinAck":true,"merge":true,"pty":{"cols":100,"rows":30},"future":1}',
      ),
    );
    expect(request).toStrictEqual({
      type: 'exec',
      id: 2147483647,
      argv: undefined,
      command: 'ls | wc',
      cwd: 'sub',
      env: [
        ['A', '1'],
        ['B', ''],
      ],
      timeoutMs: 5000,
      stdin: true,
      stdinAck: true,
      merge: true,
      pty: { cols: 100, rows: 30, term: 'xterm-256color' },
    });
  });

  it('counts null members as absent', () => {
    const withNulls = h(
      '{"type":"exec","id":1,"argv":["ls"],"command":null,"cwd":null,"env":null,"timeoutMs":null,"stdin":null,"merge":null}',
    );
    expect(parseRequest(withNulls)).toStrictEqual(parseRequest(h('{"type":"exec","id":1,"argv":["ls"]}')));
    expect(parseRequest(h('{"type":"stdin","id":3,"eof":null}'))).toStrictEqual({ type: 'stdin', id: 3, eof: false });
    expect(parseRequest(h('{"type":"ping","ts":null}'))).toStrictEqual({ type: 'ping', ts: undefined });
    expect(refusal('{"type":"exec","id":null,"argv":["ls"]}')).toStrictEqual({ code: 'BAD_REQUEST', id: undefined });
  });

  it('stdin, with and without eof', () => {
    expect(parseRequest(h('{"type":"stdin","id":7}'))).toStrictEqual({ type: 'stdin', id: 7, eof: false });
    expect(parseRequest(h('{"type":"stdin","id":7,"eof":true}'))).toStrictEqual({ type: 'stdin', id: 7, eof: true });
  });

  it.each(SIGNAL_NAMES)('signal %s', (name) => {
    expect(parseRequest(h(`{"type":"signal","id":4,"signal":"${name}"}`))).toStrictEqual({
      type: 'signal',
      id: 4,
      signal: name,
    });
  });

  it('ping echoes any ts, or none', () => {
    expect(parseRequest(h('{"type":"ping","ts":{"t":[1,"x"]}}'))).toStrictEqual({ type: 'ping', ts: { t: [1, 'x'] } });
    expect(parseRequest(h('{"type":"ping"}'))).toStrictEqual({ type: 'ping', ts: undefined });
  });

  it('auth members are type-checked only', () => {
    expect(parseRequest(h('{"type":"auth","user":"alice","cnonce":"x","proof":"y"}'))).toStrictEqual({
      type: 'auth',
      user: 'alice',
      cnonce: 'x',
      proof: 'y',
    });
    expect(parseRequest(h('{"type":"auth"}'))).toStrictEqual({
      type: 'auth',
      user: undefined,
      cnonce: undefined,
      proof: undefined,
    });
  });
});

describe('parseRequest: wrong JSON type is PROTOCOL, without an id', () => {
  it.each([
    '{"type":"exec","id":1,"argv":"ls"}',
    '{"type":"exec","id":1,"argv":[1]}',
    '{"type":"exec","id":"1","argv":["ls"]}',
    '{"type":"exec","id":1,"argv":["ls"],"env":{"A":1}}',
    '{"type":"exec","id":1,"argv":["ls"],"env":["A=1"]}',
    '{"type":"exec","id":1,"argv":["ls"],"env":"A=1"}',
    '{"type":"exec","id":1,"argv":["ls"],"stdin":"yes"}',
    '{"type":"exec","id":1,"argv":["ls"],"merge":1}',
    '{"type":"exec","id":1,"argv":["ls"],"timeoutMs":"5"}',
    '{"type":"exec","id":1,"argv":["ls"],"cwd":5}',
    '{"type":"exec","id":1,"command":["ls"]}',
    '{"type":"stdin","id":"7"}',
    '{"type":"stdin","id":7,"eof":"true"}',
    '{"type":"signal","id":1,"signal":9}',
    '{"type":"signal","id":[1],"signal":"SIGINT"}',
    '{"type":"auth","user":5}',
    '{"type":"auth","cnonce":{}}',
    '{"type":"auth","proof":true}',
  ])('%s', (json) => {
    expect(refusal(json)).toStrictEqual({ code: 'PROTOCOL', id: undefined });
  });
});

describe('parseRequest: right type, invalid value is BAD_REQUEST', () => {
  it.each([
    ['empty argv', '{"type":"exec","id":1,"argv":[]}'],
    ['empty argv[0]', '{"type":"exec","id":1,"argv":["","x"]}'],
    ['NUL in argv', '{"type":"exec","id":1,"argv":["ls","a\\u0000b"]}'],
    ['both argv and command', '{"type":"exec","id":1,"argv":["ls"],"command":"ls"}'],
    ['neither argv nor command', '{"type":"exec","id":1}'],
    ['timeoutMs 0', '{"type":"exec","id":1,"argv":["ls"],"timeoutMs":0}'],
    ['negative timeoutMs', '{"type":"exec","id":1,"argv":["ls"],"timeoutMs":-5}'],
    ['fractional timeoutMs', '{"type":"exec","id":1,"argv":["ls"],"timeoutMs":1.5}'],
    ['env name with "="', '{"type":"exec","id":1,"argv":["ls"],"env":{"A=B":"x"}}'],
    ['empty env name', '{"type":"exec","id":1,"argv":["ls"],"env":{"":"x"}}'],
    ['NUL in an env value', '{"type":"exec","id":1,"argv":["ls"],"env":{"A":"\\u0000"}}'],
    ['an unknown signal name', '{"type":"signal","id":1,"signal":"SIGSTOP"}'],
    ['a lowercase signal name', '{"type":"signal","id":1,"signal":"sigint"}'],
    ['a signal number as text', '{"type":"signal","id":1,"signal":"9"}'],
    ['no signal name', '{"type":"signal","id":1}'],
  ])('%s, with the valid id', (_what, json) => {
    expect(refusal(json)).toStrictEqual({ code: 'BAD_REQUEST', id: 1 });
  });

  it.each([
    ['id 0', '{"type":"exec","id":0,"argv":["ls"]}'],
    ['id 2^31', '{"type":"exec","id":2147483648,"argv":["ls"]}'],
    ['id 1.5', '{"type":"exec","id":1.5,"argv":["ls"]}'],
    ['id -1', '{"type":"exec","id":-1,"argv":["ls"]}'],
    ['no id', '{"type":"exec","argv":["ls"]}'],
    ['id 0 and empty argv', '{"type":"exec","id":0,"argv":[]}'],
    ['stdin without id', '{"type":"stdin"}'],
    ['signal with id 0', '{"type":"signal","id":0,"signal":"SIGINT"}'],
    ['signal with id 1e10 and a bad name', '{"type":"signal","id":1e10,"signal":"SIGFOO"}'],
  ])('%s, without an id', (_what, json) => {
    expect(refusal(json)).toStrictEqual({ code: 'BAD_REQUEST', id: undefined });
  });
});

describe('parseRequest: precedence and types', () => {
  it.each([
    '{"type":"exec","id":0,"argv":"ls"}',
    '{"type":"exec","id":"1","argv":[]}',
    '{"type":"exec","id":1,"argv":[],"stdin":"yes"}',
    '{"type":"exec","id":1,"argv":["ls"],"command":"ls","env":{"A":1}}',
    '{"type":"exec","id":1,"argv":["ls"],"timeoutMs":0,"merge":"no"}',
    '{"type":"stdin","id":0,"eof":"yes"}',
    '{"type":"signal","id":0,"signal":9}',
  ])('PROTOCOL wins over BAD_REQUEST: %s', (json) => {
    expect(refusal(json).code).toBe('PROTOCOL');
  });

  it.each(['list', 'PUT', '', 'EXEC', 'hello', 'exit', '__proto__', 'constructor', 'toString'])(
    'type %j is UNSUPPORTED, without an id',
    (type) => {
      expect(refusal(JSON.stringify({ type, id: 1 }))).toStrictEqual({ code: 'UNSUPPORTED', id: undefined });
      expect(isRequestType(type)).toBe(false);
    },
  );

  it("knows exactly the five client frame types, the file extension's three and the terminal's resize", () => {
    expect(['auth', 'exec', 'stdin', 'signal', 'ping'].every(isRequestType)).toBe(true);
    expect(['put', 'get', 'data'].every(isRequestType)).toBe(true);
    expect([...REQUEST_TYPES].sort()).toStrictEqual([
      'auth',
      'data',
      'exec',
      'get',
      'ping',
      'put',
      'resize',
      'signal',
      'stdin',
    ]);
  });
});

describe('parseRequest: ping', () => {
  // "1E20" is 4 bytes in the ping and 21 in the pong.
  const pingOf = (count: number): string =>
    `{"type":"ping","ts":[${Array.from({ length: count }, () => '1E20').join(',')}]}`;
  const pongLength = (ts: unknown): number => Buffer.byteLength(JSON.stringify({ type: 'pong', ts }));

  it('echoes any JSON ts whose pong fits in a header', () => {
    expect(parseRequest(h('{"type":"ping","ts":{"a":[1,"x",null]}}'))).toStrictEqual({
      type: 'ping',
      ts: { a: [1, 'x', null] },
    });
    // The largest array of 1E20 whose pong still fits.
    let count = 1;
    while (pongLength(Array.from({ length: count + 1 }, () => 1e20)) <= MAX_HEADER_LENGTH) count += 1;
    expect(parseRequest(h(pingOf(count)))).toMatchObject({ type: 'ping' });
    expect(refusal(pingOf(count + 1))).toStrictEqual({ code: 'BAD_REQUEST', id: undefined });
  });

  it('refuses with BAD_REQUEST a ts that fits in the ping but not in its pong', () => {
    const ping = pingOf(13_000);
    expect(Buffer.byteLength(ping)).toBeLessThanOrEqual(MAX_HEADER_LENGTH);
    expect(rexecErrorOf(() => parseRequest(h(ping))).message).toMatch(/"ts" is too large to echo/);
  });
});

describe('parseRequest: "__proto__" and "constructor" are data', () => {
  it('come back as plain env entries and change no prototype', () => {
    const request = parseRequest(
      h('{"type":"exec","id":1,"argv":["x"],"env":{"__proto__":"a","constructor":"b","A":"c"}}'),
    );
    expect(request.type === 'exec' && request.env).toStrictEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
      ['A', 'c'],
    ]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['a']).toBeUndefined();
    expect(typeof ({} as { constructor: unknown }).constructor).toBe('function');
  });

  it('refuses an env "__proto__" of the wrong type with PROTOCOL', () => {
    expect(refusal('{"type":"exec","id":1,"argv":["x"],"env":{"__proto__":{"A":"1"}}}').code).toBe('PROTOCOL');
  });

  it('never reads members from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto['command'] = 'rm -rf /';
    proto['stdin'] = true;
    try {
      const request = parseRequest(h('{"type":"exec","id":1,"argv":["ls"]}'));
      expect(request).toMatchObject({ command: undefined, stdin: false });
    } finally {
      delete proto['command'];
      delete proto['stdin'];
    }
  });

  it('never reads members through a "__proto__" member', () => {
    expect(refusal('{"type":"exec","__proto__":{"id":1,"argv":["ls"]}}')).toStrictEqual({
      code: 'BAD_REQUEST',
      id: undefined,
    });
  });
});

describe('parseServerMessage', () => {
  it('hello', () => {
    const hello = h(
      '{"type":"hello","protocol":1,"server":"rexecd/0.1.0","auth":"hmac-sha256","nonce":"AAEC","shell":true,"limits":{"maxHeader":65536,"maxBody":1048576,"maxConcurrent":8}}',
    );
    expect(parseServerMessage(hello)).toStrictEqual({
      type: 'hello',
      protocol: 1,
      server: 'rexecd/0.1.0',
      auth: 'hmac-sha256',
      nonce: 'AAEC',
      shell: true,
      files: false,
      pty: false,
      limits: { maxHeader: 65536, maxBody: 1048576, maxConcurrent: 8 },
    });
    expect(parseServerMessage(h('{"type":"hello","protocol":1,"auth":"none"}'))).toMatchObject({ auth: 'none' });
    expect(parseServerMessage(h('{"type":"hello","protocol":1,"files":true}'))).toMatchObject({ files: true });
  });

  it('hello without limits means the protocol maxima (section 2) and one command at a time', () => {
    expect(parseServerMessage(h('{"type":"hello","protocol":1}'))).toMatchObject({
      limits: { maxHeader: MAX_HEADER_LENGTH, maxBody: MAX_BODY_LENGTH, maxConcurrent: 1 },
    });
  });

  it.each([
    ['{"type":"auth-ok","user":"alice","proof":"ab"}', { type: 'auth-ok', user: 'alice', proof: 'ab' }],
    ['{"type":"started","id":1,"pid":4242}', { type: 'started', id: 1, pid: 4242 }],
    ['{"type":"stdout","id":1}', { type: 'stdout', id: 1 }],
    ['{"type":"stderr","id":2}', { type: 'stderr', id: 2 }],
    [
      '{"type":"exit","id":1,"code":0,"signal":null,"timedOut":false,"truncated":false,"stdoutBytes":6,"stderrBytes":0,"durationMs":3}',
      {
        type: 'exit',
        id: 1,
        code: 0,
        signal: null,
        timedOut: false,
        truncated: false,
        stdoutBytes: 6,
        stderrBytes: 0,
        durationMs: 3,
      },
    ],
    [
      '{"type":"exit","id":3,"code":null,"signal":"SIGTERM","timedOut":true,"truncated":false,"stdoutBytes":0,"stderrBytes":0,"durationMs":1000}',
      {
        type: 'exit',
        id: 3,
        code: null,
        signal: 'SIGTERM',
        timedOut: true,
        truncated: false,
        stdoutBytes: 0,
        stderrBytes: 0,
        durationMs: 1000,
      },
    ],
    ['{"type":"error","code":"DENIED","message":"no","id":5}', { type: 'error', code: 'DENIED', message: 'no', id: 5 }],
    ['{"type":"error","code":"PROTOCOL","message":"bad"}', { type: 'error', code: 'PROTOCOL', message: 'bad' }],
    [
      '{"type":"error","code":"BAD_REQUEST","message":"m","id":null}',
      { type: 'error', code: 'BAD_REQUEST', message: 'm' },
    ],
    [
      '{"type":"error","code":"TOO_MANY_CONNECTIONS","message":"m","retryMs":50}',
      { type: 'error', code: 'TOO_MANY_CONNECTIONS', message: 'm', retryMs: 50 },
    ],
    [
      '{"type":"error","code":"TOO_MANY_CONNECTIONS","message":"m","retryMs":0}',
      { type: 'error', code: 'TOO_MANY_CONNECTIONS', message: 'm', retryMs: 0 },
    ],
    // A hint that is no whole number of ms is no hint.
    ['{"type":"error","code":"X","message":"m","retryMs":-1}', { type: 'error', code: 'X', message: 'm' }],
    ['{"type":"error","code":"X","message":"m","retryMs":2.5}', { type: 'error', code: 'X', message: 'm' }],
    ['{"type":"error","code":"X","message":"m","retryMs":1e300}', { type: 'error', code: 'X', message: 'm' }],
    ['{"type":"pong","ts":17}', { type: 'pong', ts: 17 }],
    ['{"type":"pong"}', { type: 'pong', ts: undefined }],
  ])('%s', (json, expected) => {
    expect(parseServerMessage(h(json))).toStrictEqual(expected);
  });

  it.each([
    ['a fraction', '"code":3.7'],
    ['past 255', '"code":256'],
    ['negative', '"code":-1'],
    ['not a signal name', '"code":null,"signal":"toString"'],
    ['a signal with spaces', '"code":null,"signal":"SIG TERM"'],
  ])('an exit whose status is %s is a broken stream, never a status to exit with', (_what, members) => {
    const header = `{"type":"exit","id":1,${members},"timedOut":false,"truncated":false,"stdoutBytes":0,"stderrBytes":0,"durationMs":1}`;
    expect(rexecErrorOf(() => parseServerMessage(h(header))).code).toBe('UNEXPECTED_FRAME');
  });

  it('an exit with status 255 and one killed by SIGSEGV are what they say', () => {
    expect(parseServerMessage(h('{"type":"exit","id":1,"code":255,"signal":null}'))).toMatchObject({ code: 255 });
    expect(parseServerMessage(h('{"type":"exit","id":1,"code":null,"signal":"SIGSEGV"}'))).toMatchObject({
      code: null,
      signal: 'SIGSEGV',
    });
  });

  it.each(['{"type":"put-ok","id":1}', '{"type":""}', '{"type":"exec","id":1,"argv":["ls"]}'])(
    'returns undefined for a type a client does not know: %s',
    (json) => {
      expect(parseServerMessage(h(json))).toBeUndefined();
    },
  );

  it.each([
    '{"type":"started","id":"1","pid":2}',
    '{"type":"stdout"}',
    '{"type":"stderr","id":0}',
    '{"type":"exit","id":1,"timedOut":"no"}',
    '{"type":"error","code":5,"message":"x"}',
    '{"type":"error","code":"DENIED","message":"x","id":-1}',
    '{"type":"hello","protocol":"1"}',
    '{"type":"hello","protocol":1,"limits":{"maxBody":"1MiB"}}',
  ])('refuses a bad server frame with UNEXPECTED_FRAME: %s', (json) => {
    expect(rexecErrorOf(() => parseServerMessage(h(json))).code).toBe('UNEXPECTED_FRAME');
  });

  // Bug: hello "limits" of the wrong JSON type is silently replaced by defaults, unlike
  // every other member (and unlike the doc comment of parseServerMessage).
  it('refuses hello "limits" that is not an object with UNEXPECTED_FRAME', () => {
    for (const limits of ['5', '"none"', '[65536]', 'true']) {
      const hello = h(`{"type":"hello","protocol":1,"auth":"none","limits":${limits}}`);
      expect(() => parseServerMessage(hello), `limits ${limits}`).toThrow(/limits/);
      expect(rexecErrorOf(() => parseServerMessage(hello)).code).toBe('UNEXPECTED_FRAME');
    }
  });
});

describe('parseServerMessage hello.auth', () => {
  it('refuses an auth method it does not know instead of assuming HMAC', () => {
    const header = JSON.parse('{"type":"hello","protocol":1,"auth":"kerberos","nonce":"AAEC"}') as Parameters<
      typeof parseServerMessage
    >[0];
    expect(() => parseServerMessage(header)).toThrow(expect.objectContaining({ code: 'UNEXPECTED_FRAME' }));
  });
});
