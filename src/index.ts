// The `rexec` package's entry point: the client library.
export * from './client/index.js';
