// The typed messages of the protocol, both ways: what a client may send (requests.ts and
// the modules of its table) and what a server sends (server-messages.ts).
export type { ExecRequest, PtySize, ResizeRequest } from './exec-requests.js';
export { DEFAULT_TERM, MAX_PTY_SIDE, MAX_TERM_LENGTH } from './exec-requests.js';
export type { DataRequest, GetRequest, PutRequest } from './file-requests.js';
export { DEFAULT_FILE_MODE, MAX_FILE_MODE } from './file-requests.js';
export type {
  AuthRequest,
  PingRequest,
  Request,
  RequestOf,
  RequestType,
  SignalRequest,
  StdinRequest,
} from './requests.js';
export { isRequestType, parseRequest, REQUEST_TYPES } from './requests.js';
export type {
  AuthOkMessage,
  DataMessage,
  DoneMessage,
  ErrorMessage,
  ExitMessage,
  ExitStatus,
  FileMessage,
  HelloLimits,
  HelloMessage,
  OutputMessage,
  PongMessage,
  ReadyMessage,
  ServerMessage,
  StartedMessage,
} from './server-messages.js';
export { parseServerMessage } from './server-messages.js';
