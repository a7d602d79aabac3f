// The torture scenarios are awkward but never wrong: every reply is valid frames in
// the order of section 4, with byte totals that match, and the expected output is
// exactly what the frames carry.
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../../src/conformance/torture/scenarios.js';
import { encodeReply } from '../../../src/conformance/torture/reply-frames.js';
import { FrameDecoder } from '../../../src/protocol/frame-decoder.js';
import type { Frame } from '../../../src/protocol/frame.js';
import { parseServerMessage } from '../../../src/protocol/messages.js';

function decode(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  new FrameDecoder((frame) => frames.push(frame)).push(bytes);
  return frames;
}

describe('torture scenarios', () => {
  it('have unique kebab-case names, a section and a title', () => {
    const names = SCENARIOS.map((scenario) => scenario.name);
    expect(new Set(names).size).toBe(names.length);
    for (const scenario of SCENARIOS) {
      expect(scenario.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(scenario.section).toMatch(/^[1-8]$/);
      expect(scenario.title).not.toBe('');
    }
  });

  describe.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s', (_name, scenario) => {
    const frames = decode(Buffer.concat(scenario.reply(77).map(encodeReply)));
    const messages = frames.map((frame) => parseServerMessage(frame.header));

    it('answers with valid frames of the request id only, started first and exit last (or one error)', () => {
      expect(frames.every((frame) => frame.header['id'] === 77)).toBe(true);
      const types = messages.map((message) => message?.type);
      if (types[0] === 'error') {
        expect(types).toEqual(['error']);
        return;
      }
      expect(types[0]).toBe('started');
      expect(types.at(-1)).toBe('exit');
      expect(types.slice(1, -1).every((type) => type === 'stdout' || type === 'stderr')).toBe(true);
      expect(frames.every((frame) => frame.body.length <= 1048576)).toBe(true);
      expect(
        frames
          .filter((frame) => ['stdout', 'stderr'].includes(frame.header.type))
          .every((frame) => frame.body.length > 0),
      ).toBe(true);
    });

    it('expects exactly the output its frames carry, and their byte totals', () => {
      const joined = (type: string): Buffer =>
        Buffer.concat(frames.filter((frame) => frame.header.type === type).map((frame) => frame.body));
      const expected = scenario.expected();
      expect(joined('stdout').equals(expected.stdout)).toBe(true);
      if (expected.stderr !== undefined) expect(joined('stderr').equals(expected.stderr)).toBe(true);
      const exit = messages.at(-1);
      if (exit?.type === 'exit') {
        expect([exit.stdoutBytes, exit.stderrBytes]).toEqual([joined('stdout').length, joined('stderr').length]);
        expect(expected.status).toBe(exit.code ?? 128 + 15);
      } else {
        expect(expected.status).toBe(127);
      }
    });
  });

  it('json-formatting writes a hello and an auth-ok that parse as such', () => {
    const scenario = SCENARIOS.find((candidate) => candidate.name === 'json-formatting');
    const nonce = Buffer.alloc(32, 1).toString('base64');
    const [hello, authOk] = decode(
      Buffer.concat([
        encodeReply(scenario?.handshake?.hello(nonce) ?? { header: {} }),
        encodeReply(scenario?.handshake?.authOk('u"ser', 'ab') ?? { header: {} }),
      ]),
    );
    expect(parseServerMessage(hello?.header ?? { type: '' })).toMatchObject({
      type: 'hello',
      protocol: 1,
      nonce,
      auth: 'hmac-sha256',
    });
    expect(parseServerMessage(authOk?.header ?? { type: '' })).toMatchObject({
      type: 'auth-ok',
      user: 'u"ser',
      proof: 'ab',
    });
  });
});
