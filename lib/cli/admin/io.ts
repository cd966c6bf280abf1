/**
 * The streams an admin command uses, injected so that tests run the commands in-process: stdin
 * (a password, piped or typed at a terminal), stdout (results), stderr (prompts and errors).
 */

/** What the commands need of stdin; process.stdin satisfies it, and so does a PassThrough. */
export interface AdminInput extends NodeJS.EventEmitter {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
  /** Puts bytes back at the front of the stream (Readable.unshift) */
  unshift?(chunk: Buffer): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
}

export interface AdminOutput {
  write(text: string): unknown;
}

export interface AdminIo {
  readonly stdin: AdminInput;
  readonly stdout: AdminOutput;
  readonly stderr: AdminOutput;
}

export function processIo(): AdminIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}
