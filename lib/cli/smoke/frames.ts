/**
 * What a server frame holds, as `stratus smoke` reads it with its own frame handling (it does not
 * use lib/client, whose job is to hide exactly what the smoke checks want to see). Pure: no I/O.
 *
 * A frame is classified as (docs/TRANSPORT.md section 4):
 * - `mqtt`: padded base64 of whole packets (untagged), or, in a binary frame, raw MQTT bytes;
 * - `fragment`: `<id>.<index>.<count>:<base64>`, one part of a packet too big for one post;
 * - `integration-error`: API Gateway's JSON error message, `{"message": …, "requestId": …}`;
 * - `unknown`: anything else (a failure of the frame-type check).
 *
 * AWS does not document whether `@connections` posts arrive as text or binary frames, so a binary
 * frame whose bytes are such a text is read as that text. Raw MQTT bytes are never mistaken for
 * it: every packet a server sends to a client has a byte outside the base64 alphabet (a zero byte
 * in a length, or a type byte such as CONNACK's 0x20).
 */

export type FrameEncoding = 'text' | 'binary-base64' | 'binary-raw';

export type FrameContent =
  | { readonly kind: 'mqtt'; readonly encoding: FrameEncoding; readonly bytes: Uint8Array }
  | { readonly kind: 'fragment'; readonly encoding: FrameEncoding; readonly id: string; readonly index: number; readonly count: number; readonly bytes: Uint8Array }
  | { readonly kind: 'integration-error'; readonly encoding: FrameEncoding; readonly body: IntegrationErrorBody }
  | { readonly kind: 'unknown'; readonly encoding: FrameEncoding; readonly length: number };

/** API Gateway's error message, cut to what the report shows. */
export interface IntegrationErrorBody {
  readonly message: string;
  readonly requestId?: string;
  readonly connectionId?: string;
  /** Every key of the JSON object, in order: the shape the report prints. */
  readonly keys: readonly string[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TAG = /^([A-Za-z0-9_-]{1,16})\.(0|[1-9]\d{0,5})\.([1-9]\d{0,5}):/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** Classifies one server frame. */
export function classifyFrame(data: Uint8Array, isBinary: boolean): FrameContent {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (!isBinary) return classifyText(text, 'text');
  if (data.length > 0 && PRINTABLE.test(text)) {
    const asText = classifyText(text, 'binary-base64');
    if (asText.kind !== 'unknown') return asText;
  }
  return { kind: 'mqtt', encoding: 'binary-raw', bytes: data };
}

function classifyText(text: string, encoding: FrameEncoding): FrameContent {
  if (text.startsWith('{')) {
    const body = integrationErrorOf(text);
    return body === undefined ? { kind: 'unknown', encoding, length: text.length } : { kind: 'integration-error', encoding, body };
  }
  const tag = TAG.exec(text);
  if (tag !== null) {
    const payload = text.slice(tag[0].length);
    const index = Number(tag[2]);
    const count = Number(tag[3]);
    if (count < 2 || index >= count || payload.length === 0 || !BASE64.test(payload)) return { kind: 'unknown', encoding, length: text.length };
    return { kind: 'fragment', encoding, id: tag[1]!, index, count, bytes: Buffer.from(payload, 'base64') };
  }
  if (text.length === 0 || !BASE64.test(text)) return { kind: 'unknown', encoding, length: text.length };
  return { kind: 'mqtt', encoding, bytes: Buffer.from(text, 'base64') };
}

/** API Gateway's JSON error message, or undefined when the text is not one. */
export function integrationErrorOf(text: string): IntegrationErrorBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.message !== 'string') return undefined;
  return {
    message: record.message.slice(0, 200),
    ...(typeof record.requestId === 'string' ? { requestId: record.requestId.slice(0, 100) } : {}),
    ...(typeof record.connectionId === 'string' ? { connectionId: record.connectionId.slice(0, 100) } : {}),
    keys: Object.keys(record).slice(0, 10),
  };
}

/**
 * Puts tagged fragments back together: answers a packet's bytes once all its parts are in, else
 * undefined. Keeps at most `maxPending` incomplete packets (the oldest is dropped).
 */
export class FragmentJoiner {
  private readonly pending = new Map<string, { count: number; parts: Map<number, Uint8Array> }>();

  constructor(private readonly maxPending = 8) {}

  add(fragment: Extract<FrameContent, { kind: 'fragment' }>): Uint8Array | undefined {
    let entry = this.pending.get(fragment.id);
    if (entry === undefined || entry.count !== fragment.count) {
      entry = { count: fragment.count, parts: new Map() };
      this.pending.set(fragment.id, entry);
      if (this.pending.size > this.maxPending) this.pending.delete(this.pending.keys().next().value!);
    }
    entry.parts.set(fragment.index, fragment.bytes);
    if (entry.parts.size < entry.count) return undefined;
    this.pending.delete(fragment.id);
    return Buffer.concat([...Array(entry.count).keys()].map((i) => entry.parts.get(i)!));
  }
}
