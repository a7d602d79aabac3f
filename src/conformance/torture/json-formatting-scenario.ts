// A scenario whose headers are written by hand: whitespace and newlines, escaped
// characters in type names, members in any order, unknown and null members. A client
// must parse JSON, not match strings (docs/protocol.md section 2).
import type { Scenario } from './scenarios.js';
import { expectedRun } from './reply-frames.js';
import type { Output } from './reply-frames.js';

const OUTPUTS: readonly Output[] = [
  ['stdout', Buffer.from('escaped type\n')],
  ['stderr', Buffer.from('whitespace everywhere\n')],
  ['stdout', Buffer.from('members in any order\n')],
];

/** The json-formatting scenario. */
export function jsonFormattingScenario(): Scenario {
  return {
    name: 'json-formatting',
    section: '2',
    title: 'headers with whitespace, newlines, \\u escapes, members in any order, unknown and null members',
    cut: 'whole',
    pauseMs: 0,
    reply: (id) => [
      { header: `{ "id" : ${id},\n  "type" : "started", "pid": 4243, "x-unknown": {"a": [1, null, {}]} }` },
      { header: `{"type":"\\u0073tdout","id":${id}}`, body: OUTPUTS[0]?.[1] },
      { header: `\t{\r\n"type"\t:\t"stderr" , "id" : ${id} , "z": null }\n`, body: OUTPUTS[1]?.[1] },
      { header: `{"id":${id},"type":"stdout","note":"\\ud83d\\ude00"}`, body: OUTPUTS[2]?.[1] },
      {
        header:
          `{\n  "truncated": false,\n  "type": "exit",\n  "signal": null,\n  "code": 0,\n  "id": ${id},\n` +
          `  "stdoutBytes": 34,\n  "stderrBytes": 22,\n  "timedOut": false,\n  "durationMs": 1,\n  "x-extra": [true]\n}`,
      },
    ],
    handshake: {
      hello: (nonce) => ({
        header:
          `{ "type" : "\\u0068ello", "protocol" : 1, "server" : "rexec-torture",\n "auth" : "hmac-sha256", ` +
          `"nonce" : "${nonce}", "shell" : true,\n "limits" : { "maxConcurrent" : 16, "maxBody" : 1048576, "maxHeader" : 65536 },\n` +
          ` "x-future" : { "files" : true } }`,
      }),
      authOk: (user, proof) => ({
        header: `{ "proof" : "${proof}" ,\n "user" : ${JSON.stringify(user)}, "type" : "auth-ok" }`,
      }),
    },
    expected: () => expectedRun(OUTPUTS, { code: 0 }),
  };
}
