/** Password input: the first line of a pipe, or a hidden prompt at a terminal. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AdminIo } from '../../../lib/cli/admin/io';
import { passwordSource, promptHidden, readLine, readPassword } from '../../../lib/cli/admin/password-input';

function terminal() {
  const stdin = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: (mode: boolean) => void; raw: boolean[] };
  stdin.isTTY = true;
  stdin.raw = [];
  stdin.setRawMode = (mode) => void stdin.raw.push(mode);
  let stderr = '';
  const io: AdminIo = { stdin, stdout: { write: () => undefined }, stderr: { write: (t: string) => (stderr += t) } };
  return { stdin, io, stderr: () => stderr };
}

describe('readLine', () => {
  it.each([
    ['pw\n', 'pw'],
    ['pw\r\nmore\n', 'pw'],
    ['no newline', 'no newline'],
    ['  spaces kept  \n', '  spaces kept  '],
    ['pässwörd\n', 'pässwörd'],
  ])('%j → %j', async (input, line) => {
    const stdin = new PassThrough();
    stdin.end(input);
    expect(await readLine(stdin)).toBe(line);
  });

  it('an empty stream has no line', async () => {
    const stdin = new PassThrough();
    stdin.end();
    expect(await readLine(stdin)).toBeUndefined();
  });

  it('a multi-byte character split across chunks stays whole', async () => {
    const stdin = new PassThrough();
    const bytes = Buffer.from('ü\n');
    const read = readLine(stdin);
    stdin.write(bytes.subarray(0, 1));
    stdin.write(bytes.subarray(1));
    expect(await read).toBe('ü');
  });
});

describe('promptHidden', () => {
  it('echo is off while typing; backspace edits; raw mode is restored', async () => {
    const t = terminal();
    const answer = promptHidden(t.io, 'Password: ');
    t.stdin.write('abx\u007fc\r');
    expect(await answer).toBe('abc');
    expect(t.stderr()).toBe('Password: \n');
    expect(t.stdin.raw).toEqual([true, false]);
  });

  it('Ctrl-C cancels', async () => {
    const t = terminal();
    const answer = promptHidden(t.io, 'Password: ');
    t.stdin.write('ab\u0003');
    await expect(answer).rejects.toThrow('cancelled');
    expect(t.stdin.raw).toEqual([true, false]);
  });

  it('both answers typed ahead in one chunk reach both prompts', async () => {
    const t = terminal();
    const answer = readPassword('prompt', t.io, 'alice');
    t.stdin.write('same\rsame\r');
    expect(await answer).toBe('same');
  });
});

describe('passwordSource', () => {
  it('stdin with --password-stdin, a prompt on a terminal, else bad input', () => {
    expect(passwordSource(true, new PassThrough())).toBe('stdin');
    expect(passwordSource(false, terminal().stdin)).toBe('prompt');
    expect(() => passwordSource(false, new PassThrough())).toThrow(/stdin is not a terminal/);
  });
});
