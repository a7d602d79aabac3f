// What an admitted user's frames do: each is validated by the protocol's table of
// request types (requests.ts) and handled by the entry of its type here, one per type,
// so the compiler refuses a type without a handler and a handler for a type that does
// not exist. Before admission only `auth` is taken, and that is the connection's own
// business (connection.ts).
import type { Frame } from '../protocol/frame.js';
import { parseRequest } from '../protocol/requests.js';
import type { Request, RequestOf, RequestType } from '../protocol/requests.js';
import type { Pending } from './exec-start.js';
import type { Session } from './session.js';

type Handler<K extends RequestType> = (session: Session, request: RequestOf<K>, body: Buffer) => Pending;

const HANDLERS: { readonly [K in RequestType]: Handler<K> } = {
  auth: (session) => {
    session.alreadyAuthenticated();
    return undefined;
  },
  exec: (session, request) => session.exec(request),
  stdin: (session, request, body) => {
    session.stdin(request, body);
    return undefined;
  },
  signal: (session, request) => {
    session.signal(request);
    return undefined;
  },
  ping: (session, request) => {
    session.pong(request);
    return undefined;
  },
  put: (session, request) => session.transfer(request),
  get: (session, request) => session.transfer(request),
  data: (session, request, body) => {
    session.data(request, body);
    return undefined;
  },
  resize: (session, request) => {
    session.resize(request);
    return undefined;
  },
};

/** Handles a frame of an admitted user; a promise when the frames behind it must wait. */
export function handleFrame(session: Session, frame: Frame): Pending {
  const { header } = frame;
  let request: Request;
  try {
    request = parseRequest(header);
  } catch (error) {
    // A malformed exec is audited with what it asked for (a refused request may hold anything).
    if (header.type === 'exec')
      session.records.execRefused(header, typeof header['id'] === 'number' ? header['id'] : null, error);
    session.link.requestError(error);
    return undefined;
  }
  return handle(request.type, session, request, frame.body);
}

// Generic over the type so that the table's entry and the request agree without a cast.
function handle<K extends RequestType>(type: K, session: Session, request: RequestOf<K>, body: Buffer): Pending {
  return HANDLERS[type](session, request, body);
}
