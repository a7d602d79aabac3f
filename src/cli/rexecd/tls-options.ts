// rexecd's TLS flags and subcommands: --tls-cert/--tls-key/--tls-client-ca read into the
// server's TLS setting, `tls-init DIR` (a self-signed certificate) and
// `tls-fingerprint CERT` (what clients see, to check a first connection against).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Option } from 'commander';
import { fingerprintOfPem } from '../../common/fingerprint.js';
import { RexecError } from '../../errors.js';
import { DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS } from '../../server/index.js';
import type { TlsSetting } from '../../server/index.js';
import { collect, integerIn } from '../shared/arg-parsers.js';
import { DEFAULT_TLS_DAYS, DEFAULT_TLS_NAMES, tlsInit } from './tls-init.js';

/** The TLS flags of `rexecd` (serving). */
export interface ServeTlsFlags {
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  readonly tlsHandshakeTimeout: number;
}

/** Adds --tls-cert, --tls-key, --tls-client-ca and --tls-handshake-timeout. */
export function addServeTlsOptions(program: Command): Command {
  return program
    .option('--tls-cert <file>', 'serve TLS with this certificate (PEM; see tls-init); needs --tls-key')
    .option('--tls-key <file>', "the TLS certificate's private key (PEM)")
    .option('--tls-client-ca <file>', 'require client certificates signed by these CAs (PEM): mutual TLS')
    .addOption(
      new Option('--tls-handshake-timeout <ms>', 'close connections that have not finished the TLS handshake by then')
        .default(DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS)
        .argParser(integerIn(1)),
    );
}

/** Reads the files the TLS flags name; undefined without --tls-cert. Throws CONFIG. */
export async function serveTlsSetting(flags: ServeTlsFlags): Promise<TlsSetting | undefined> {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) {
    if (flags.tlsClientCa !== undefined)
      throw new RexecError('CONFIG', '--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) {
    throw new RexecError('CONFIG', '--tls-cert and --tls-key go together (make both with "rexecd tls-init DIR")');
  }
  return {
    cert: await readPem(flags.tlsCert, '--tls-cert'),
    key: await readPem(flags.tlsKey, '--tls-key'),
    ...(flags.tlsClientCa === undefined ? {} : { clientCa: await readPem(flags.tlsClientCa, '--tls-client-ca') }),
    handshakeTimeoutMs: flags.tlsHandshakeTimeout,
  };
}

/** Adds `tls-init DIR` and `tls-fingerprint CERT` to rexecd. */
export function addTlsCommands(program: Command, write: (text: string) => void): void {
  program
    .command('tls-init')
    .description('make a self-signed TLS certificate and key (DIR/cert.pem, DIR/key.pem) with openssl')
    .argument('<dir>', 'where to write them (created, mode 0700)')
    .option(
      '--name <name>',
      `a host name or IP address clients use (repeatable; default: ${DEFAULT_TLS_NAMES.join(', ')})`,
      collect,
    )
    .option('--days <n>', 'days the certificate is valid', integerIn(1), DEFAULT_TLS_DAYS)
    .option('-f, --force', 'replace an existing certificate and key', false)
    .action(async (dir: string, flags: { name?: string[]; days: number; force: boolean }) => {
      const made = await tlsInit(dir, { names: flags.name ?? [], days: flags.days, force: flags.force });
      write(
        `wrote ${made.certFile} (the certificate, for clients' --ca if they want one)\n` +
          `wrote ${made.keyFile} (the private key, mode 0600: it stays on this machine)\n` +
          `names: ${made.names.join(', ')}\n` +
          `fingerprint: ${made.fingerprint}\n` +
          `serve with:  rexecd --tls-cert ${made.certFile} --tls-key ${made.keyFile} ...\n` +
          `clients run: rexec --tls -H ${made.names[0] as string} run -- uname -a\n` +
          '  (the first connection prints and records the fingerprint: compare it with the one above;\n' +
          `   or pin it: rexec --tls --fingerprint ${made.fingerprint} ...)\n`,
      );
    });
  program
    .command('tls-fingerprint')
    .description("print a certificate's SHA-256 fingerprint, as rexec clients show and record it")
    .argument('<cert>', 'the certificate (PEM)')
    .action(async (file: string) => {
      const pem = await readPem(file, 'the certificate');
      let fingerprint: string;
      try {
        fingerprint = fingerprintOfPem(pem);
      } catch (error) {
        throw new RexecError('CONFIG', `${file} is not a PEM certificate: ${(error as Error).message}`);
      }
      write(`${fingerprint}\n`);
    });
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RexecError('CONFIG', `${what} ${file}: ${reason}`);
  }
}
