/**
 * Passwords for `user add` and `user passwd`, never taken from the command line (where every user
 * of the machine sees them in the process list):
 * - on a terminal, a prompt on stderr with echo off, asked twice;
 * - with `--password-stdin`, the first line of stdin (`printf '%s\n' "$PW" | stratus user add ...`);
 *   a trailing CR LF or LF is not part of the password, anything else is.
 */
import { StringDecoder } from 'node:string_decoder';
import { AdminFailureError, AdminInputError } from './errors';
import type { AdminInput, AdminIo } from './io';

export type PasswordSource = 'stdin' | 'prompt';

const NOT_A_TERMINAL =
  'stdin is not a terminal: pass --password-stdin to read the password from it, or --no-password for a token-only user';

/**
 * Where the password comes from, decided before anything is written, so that a script that forgot
 * `--password-stdin` fails at once instead of waiting for a prompt nobody answers.
 */
export function passwordSource(passwordStdin: boolean, stdin: AdminInput): PasswordSource {
  if (passwordStdin) return 'stdin';
  if (stdin.isTTY === true && typeof stdin.setRawMode === 'function') return 'prompt';
  throw new AdminInputError(NOT_A_TERMINAL);
}

/** Reads the password; a prompt asks twice and fails if the answers differ. */
export async function readPassword(source: PasswordSource, io: AdminIo, name: string): Promise<string> {
  if (source === 'stdin') {
    const line = await readLine(io.stdin);
    if (line === undefined || line === '') throw new AdminInputError('no password on stdin (--password-stdin reads its first line)');
    return line;
  }
  const first = await promptHidden(io, `Password for ${name}: `);
  if (first === '') throw new AdminInputError('the password is empty');
  const second = await promptHidden(io, 'Retype the password: ');
  if (first !== second) throw new AdminFailureError('the passwords do not match');
  return first;
}

/** The first line of a stream without its line ending; undefined if the stream is empty. */
export function readLine(stream: AdminInput): Promise<string | undefined> {
  if ((stream as { readableEnded?: boolean }).readableEnded === true) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const finish = (error?: unknown) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      if (error !== undefined) return reject(error);
      const all = Buffer.concat(chunks);
      const newline = all.indexOf(0x0a);
      if (newline === -1 && all.length === 0) return resolve(undefined);
      const line = all.subarray(0, newline === -1 ? all.length : newline).toString('utf8');
      resolve(line.endsWith('\r') ? line.slice(0, -1) : line);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      chunks.push(bytes);
      seen += bytes.length;
      if (bytes.includes(0x0a) || seen > 64 * 1024) finish();
    };
    const onEnd = () => finish();
    const onError = (error: unknown) => finish(error ?? new Error('stdin failed'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

/**
 * One line typed at a terminal with echo off (raw mode): Enter ends it, Backspace deletes the last
 * character, Ctrl-C cancels (raw mode delivers it as a character, not as SIGINT).
 */
export function promptHidden(io: AdminIo, label: string): Promise<string> {
  const { stdin } = io;
  io.stderr.write(label);
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let typed = '';
    const finish = (rest: string, error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      // what was typed ahead (a paste of both answers) is left for the next prompt
      if (rest !== '') stdin.unshift?.(Buffer.from(rest, 'utf8'));
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      const chars = [...(typeof chunk === 'string' ? chunk : decoder.write(chunk))];
      for (let i = 0; i < chars.length; i++) {
        const c = chars[i] as string;
        const rest = () => chars.slice(i + 1).join('').replace(/^\n/, '');
        if (c === '\r' || c === '\n' || c === '\u0004') return finish(rest());
        if (c === '\u0003') return finish('', new AdminFailureError('cancelled'));
        if (c === '\u007f' || c === '\b') typed = [...typed].slice(0, -1).join('');
        else if (c >= ' ') typed += c;
      }
    };
    stdin.setRawMode?.(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
