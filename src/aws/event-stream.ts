// An AWS event stream (application/vnd.amazon.eventstream) read as its bytes arrive: the SDKs' own
// pieces do the work. @smithy/core's getChunkedStream cuts the bytes into messages by their length
// prelude (the framer the SDKs' universal EventStreamMarshaller uses); @smithy/eventstream-codec's
// EventStreamCodec checks each message's prelude and message CRC32 and parses its typed headers.
// What is left here is SageMaker's ResponseStream union, as the SDK's getUnmarshalledStream reads a
// union: `:message-type` event (PayloadPart: the payload is the part's bytes; other event types
// are skipped as the SDK skips them), exception (ModelStreamError, InternalStreamFailure: a JSON
// payload with Message and ErrorCode), or error (`:error-code` and `:error-message` headers).
import { getChunkedStream } from '@smithy/core/event-streams';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { Message, MessageHeaders } from '@smithy/types';

/** UTF-8 to text; the codec calls it for every header name and string value (short ASCII: no Buffer). */
function toUtf8(b: Uint8Array): string {
  const n = b.length;
  if (n <= 32) {
    let ascii = true;
    for (let i = 0; i < n; i++) if (b[i]! > 0x7f) ascii = false;
    if (ascii) return String.fromCharCode.apply(null, b as unknown as number[]);
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}
const fromUtf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const codec = new EventStreamCodec(toUtf8, fromUtf8);

/**
 * SageMaker's ResponseStream union as this decoder reads it: each event type and its members
 * (test/conformance/sdk-stream.test.ts holds it against the SDK's model).
 */
export const RESPONSE_STREAM_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  PayloadPart: ['Bytes'],
  ModelStreamError: ['Message', 'ErrorCode'],
  InternalStreamFailure: ['Message'],
};

/** Why a stream is not a (complete, well-formed) answer. */
export type StreamProblemKind =
  /** An `exception` message: `code` is its `:exception-type` (ModelStreamError, InternalStreamFailure). */
  | 'exception'
  /** An `error` message: `code` is its `:error-code`. */
  | 'error'
  /** A prelude or message CRC32 that does not match. */
  | 'crc'
  /** The body ended inside a message. */
  | 'truncated'
  /** A message that is not one of the union's (no or unknown `:message-type`, bad headers). */
  | 'invalid';

export class StreamProblem extends Error {
  constructor(
    readonly kind: StreamProblemKind,
    readonly code: string,
    message: string,
    /** ModelStreamError's ErrorCode (ModelInvocationTimeExceeded, StreamBroken). */
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

/** Gets each PayloadPart's bytes (a view: copy to keep beyond the call) and when its last byte arrived. */
export type OnPart = (bytes: Uint8Array, at: number) => void;

/**
 * One stream's decoder: `push` each body chunk as it arrives, then `end`. `done` resolves once
 * every message is read, or rejects with the first StreamProblem (nothing is read after it).
 */
export class EventStreamDecoder {
  readonly done: Promise<void>;
  #queue: Uint8Array[] = [];
  #times: number[] = [];
  #ended = false;
  #stopped = false;
  #wake: (() => void) | undefined;
  /** When the chunk the framer is reading arrived. */
  #at = 0;

  constructor(readonly onPart: OnPart) {
    this.done = this.#run();
    this.done.catch(() => undefined); // (the caller awaits it when it needs the outcome)
  }

  push(chunk: Uint8Array, at: number): void {
    if (this.#ended) return;
    this.#queue.push(chunk);
    this.#times.push(at);
    this.#notify();
  }

  /** The body ended; `done` then settles once the rest is decoded. */
  end(): Promise<void> {
    this.#ended = true;
    this.#notify();
    return this.done;
  }

  /** Stops reading (the exchange failed): nothing more is decoded or reported. */
  stop(): void {
    this.#stopped = true;
    this.end().catch(() => undefined);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async *#chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.#stopped) return;
      if (this.#queue.length > 0) {
        const chunk = this.#queue.shift()!;
        this.#at = this.#times.shift()!;
        yield chunk;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async #run(): Promise<void> {
    try {
      for await (const raw of getChunkedStream(this.#chunks())) {
        if (this.#stopped) return;
        let message: Message;
        try {
          message = codec.decode(raw);
        } catch (err) {
          const text = (err as Error).message;
          throw new StreamProblem(/checksum/i.test(text) ? 'crc' : 'invalid', '', text);
        }
        // (getChunkedStream hands a message over while reading the chunk that completed it.)
        this.#message(message, this.#at);
      }
    } catch (err) {
      if (this.#stopped) return;
      if (err instanceof StreamProblem) throw err;
      const text = (err as Error).message;
      throw new StreamProblem(/truncated/i.test(text) ? 'truncated' : 'invalid', '', text);
    }
  }

  #message(m: Message, at: number): void {
    const h = m.headers;
    const type = str(h, ':message-type');
    if (type === 'event') {
      if (str(h, ':event-type') === 'PayloadPart') this.onPart(m.body, at);
      return;
    }
    if (type === 'exception') {
      const name = str(h, ':exception-type') ?? 'UnknownException';
      const { message, errorCode } = exceptionBody(m.body);
      throw new StreamProblem('exception', name, message ?? name, errorCode);
    }
    if (type === 'error') {
      const code = str(h, ':error-code') ?? 'UnknownError';
      throw new StreamProblem('error', code, str(h, ':error-message') ?? code);
    }
    throw new StreamProblem('invalid', '', `a message with ${type === undefined ? 'no :message-type' : `:message-type ${JSON.stringify(type)}`}`);
  }
}

function str(h: MessageHeaders, name: string): string | undefined {
  const v = h[name];
  return v !== undefined && v.type === 'string' ? v.value : undefined;
}

/** An exception event's payload: `{"Message": ..., "ErrorCode": ...}` (either may be missing). */
function exceptionBody(body: Uint8Array): { message?: string; errorCode?: string } {
  try {
    const doc: unknown = JSON.parse(toUtf8(body));
    if (typeof doc !== 'object' || doc === null) return {};
    const d = doc as Record<string, unknown>;
    const message = d.Message ?? d.message;
    const out: { message?: string; errorCode?: string } = {};
    if (typeof message === 'string' && message !== '') out.message = message;
    if (typeof d.ErrorCode === 'string') out.errorCode = d.ErrorCode;
    return out;
  } catch {
    const text = toUtf8(body).trim();
    return text === '' ? {} : { message: text.slice(0, 2048) };
  }
}

/** Encodes one message with the same codec (tests, and the SDK-encoded conformance check). */
export function encodeMessage(headers: MessageHeaders, body: Uint8Array): Uint8Array {
  return codec.encode({ headers, body });
}
