/**
 * The fragment tag of server-to-client text messages (docs/TRANSPORT.md section 4), defined once:
 * the server writes it (lib/gateway/framing.ts) and every reader parses it (reassembly.ts).
 *
 *   message  = tagged / untagged
 *   untagged = base64                          ; whole packets, as before tags existed
 *   tagged   = id "." index "." count ":" base64  ; one part of ONE packet too big for a post
 *   id       = 1*16( ALPHA / DIGIT / "-" / "_" )  ; unique per packet per connection
 *   index    = "0" / nonzero *5DIGIT           ; 0-based, below count
 *   count    = nonzero *5DIGIT                  ; at least 2
 *
 * ':' is not a base64 character, so a message whose first 32 characters hold no ':' is untagged.
 * Pure, imports nothing.
 */

/** A parsed tag: which part of which packet the message carries. */
export interface FragmentTag {
  readonly id: string;
  readonly index: number;
  readonly count: number;
}

/** Longest tag, separator included: 16 + 1 + 6 + 1 + 6 + 1 characters. */
export const MAX_TAG_LENGTH = 31;

const TAG = /^([A-Za-z0-9_-]{1,16})\.(0|[1-9][0-9]{0,5})\.([1-9][0-9]{0,5}):$/;
const ID = /^[A-Za-z0-9_-]{1,16}$/;

/** The tag's text, `<id>.<index>.<count>:`. Throws RangeError on values outside the grammar. */
export function formatTag(tag: FragmentTag): string {
  const { id, index, count } = tag;
  if (!ID.test(id)) throw new RangeError(`fragment id must be 1-16 characters of [A-Za-z0-9_-], got ${JSON.stringify(id)}`);
  if (!Number.isInteger(count) || count < 2 || count > 999_999) throw new RangeError(`fragment count must be 2..999999, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`fragment index must be 0..${count - 1}, got ${index}`);
  return `${id}.${index}.${count}:`;
}

/** A message split into its tag (if any) and its base64 payload. */
export type SplitMessage =
  | { readonly tag: undefined; readonly payload: string }
  | { readonly tag: FragmentTag; readonly payload: string };

/**
 * Splits a server text message into tag and payload. Returns undefined when the message has a
 * ':' in its tag area but no valid tag (a malformed frame); the payload is not checked here.
 */
export function splitTag(text: string): SplitMessage | undefined {
  const colon = text.lastIndexOf(':', MAX_TAG_LENGTH - 1);
  if (colon < 0) return { tag: undefined, payload: text };
  const match = TAG.exec(text.slice(0, colon + 1));
  if (match === null) return undefined;
  const index = Number(match[2]);
  const count = Number(match[3]);
  if (count < 2 || index >= count) return undefined;
  return { tag: { id: match[1] as string, index, count }, payload: text.slice(colon + 1) };
}
