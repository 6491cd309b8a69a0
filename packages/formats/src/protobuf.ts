// A small protobuf wire-format walker over a ByteSource. protobufjs decodes whole messages into
// memory, and an ONNX or SavedModel file embeds its weights inside the message (GBs of
// `raw_data`): this walker descends only into the fields asked for and skips the rest by length,
// so reading the metadata of a 10 GB model reads kilobytes.
import type { ByteSource } from '@mlbom/core';
import { Cursor, formatError, strictUtf8 } from './util.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface Field {
  number: number;
  wire: number;
  /** For varints (as a number, possibly imprecise above 2^53) and fixed-size fields. */
  value: number;
  /** For varints above 2^53 (and negative int64s). */
  big?: bigint | undefined;
  /** For length-delimited fields: where the payload starts and its length. */
  offset: number;
  length: number;
}

export interface ProtoLimits {
  /** Most fields visited in one walk. */
  maxFields: number;
  maxDepth: number;
}

export class ProtoReader {
  readonly c: Cursor;
  fields = 0;

  constructor(
    readonly source: ByteSource,
    readonly what: string,
    readonly limits: ProtoLimits = { maxFields: 20_000_000, maxDepth: 32 },
  ) {
    this.c = new Cursor(source, 0);
  }

  fail(message: string): never {
    throw formatError(this.source, `${this.what}: ${message}`);
  }

  private async varintAt(): Promise<{ value: number; big?: bigint }> {
    const c = this.c;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (!c.has(1)) await c.need(1, `${this.what} varint`);
      const b = c.u8();
      if (i < 7) {
        value += (b & 0x7f) * scale;
        scale *= 128;
        if ((b & 0x80) === 0) return { value };
      } else {
        // Rare: values past 49 bits; finish in BigInt.
        let big = BigInt(value) + (BigInt(b & 0x7f) << 49n);
        let shift = 56n;
        let last = b;
        for (let j = i + 1; (last & 0x80) !== 0; j++) {
          if (j >= 10) this.fail(`varint longer than 10 bytes at offset ${c.pos}`);
          if (!c.has(1)) await c.need(1, `${this.what} varint`);
          last = c.u8();
          big += BigInt(last & 0x7f) << shift;
          shift += 7n;
        }
        big &= (1n << 64n) - 1n;
        return { value: Number(big), big };
      }
    }
    return this.fail(`varint longer than 10 bytes at offset ${c.pos}`);
  }

  async varint(): Promise<number> {
    return (await this.varintAt()).value;
  }

  /**
   * Visits each field of the message in [start, end); `visit` may descend (with `walk`), read the
   * payload (with `string`/`bytes`), or do nothing, in which case the payload is skipped.
   */
  async walk(start: number, end: number, visit: (f: Field) => Promise<void> | void, depth = 0): Promise<void> {
    if (depth > this.limits.maxDepth) this.fail('messages nested too deep');
    const c = this.c;
    c.pos = start;
    while (c.pos < end) {
      if (++this.fields > this.limits.maxFields) this.fail(`more than ${this.limits.maxFields} fields`);
      const tagAt = c.pos;
      const tag = await this.varint();
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 0 || number > 536_870_911) this.fail(`invalid field number at offset ${tagAt}`);
      const field: Field = { number, wire, value: 0, offset: 0, length: 0 };
      switch (wire) {
        case WIRE_VARINT: {
          const v = await this.varintAt();
          field.value = v.value;
          field.big = v.big;
          break;
        }
        case WIRE_I64:
          await c.need(8, this.what);
          field.value = c.f64();
          field.offset = c.pos - 8;
          break;
        case WIRE_I32:
          await c.need(4, this.what);
          field.value = c.u32();
          field.offset = c.pos - 4;
          break;
        case WIRE_LEN: {
          const length = await this.varint();
          if (!Number.isSafeInteger(length) || c.pos + length > end) {
            this.fail(`field ${number} at offset ${tagAt} claims ${length} bytes, past the end of its message`);
          }
          field.offset = c.pos;
          field.length = length;
          break;
        }
        default:
          this.fail(`unsupported wire type ${wire} (field ${number}) at offset ${tagAt}`);
      }
      if (c.pos > end) this.fail(`field ${number} at offset ${tagAt} runs past the end of its message`);
      const next = wire === WIRE_LEN ? field.offset + field.length : c.pos;
      await visit(field);
      c.pos = next;
    }
    if (c.pos !== end) this.fail('message ends inside a field');
  }

  /** Walks a length-delimited field's payload as a message. */
  sub(field: Field, visit: (f: Field) => Promise<void> | void, depth: number): Promise<void> {
    if (field.wire !== WIRE_LEN) this.fail(`field ${field.number} should be a message`);
    return this.walk(field.offset, field.offset + field.length, visit, depth + 1);
  }

  async bytes(field: Field, max: number): Promise<Uint8Array> {
    if (field.wire !== WIRE_LEN) this.fail(`field ${field.number} should be length-delimited`);
    if (field.length > max) this.fail(`field ${field.number} of ${field.length} bytes exceeds the limit of ${max}`);
    this.c.pos = field.offset;
    await this.c.need(field.length, this.what);
    return this.c.bytes(field.length).slice();
  }

  /** A string field, cut to `max` bytes when longer. */
  async string(field: Field, max = 64 * 1024): Promise<string> {
    if (field.wire !== WIRE_LEN) this.fail(`field ${field.number} should be a string`);
    const length = Math.min(field.length, max);
    this.c.pos = field.offset;
    await this.c.need(length, this.what);
    const text = strictUtf8(this.source, this.c.bytes(length), `${this.what} string field ${field.number}`);
    return field.length > max ? `${text}…` : text;
  }

  /** Signed int64 from a varint field. */
  int64(field: Field): number {
    if (field.wire !== WIRE_VARINT) this.fail(`field ${field.number} should be a varint`);
    if (field.big !== undefined) return Number(BigInt.asIntN(64, field.big));
    return field.value;
  }

  /** A repeated int64 field, packed or not. */
  async int64s(field: Field, out: number[], max: number): Promise<void> {
    if (field.wire === WIRE_VARINT) {
      if (out.length >= max) this.fail(`more than ${max} values in a repeated field`);
      out.push(this.int64(field));
      return;
    }
    if (field.wire !== WIRE_LEN) this.fail(`field ${field.number} should be varints`);
    const end = field.offset + field.length;
    this.c.pos = field.offset;
    while (this.c.pos < end) {
      if (out.length >= max) this.fail(`more than ${max} values in a repeated field`);
      const v = await this.varintAt();
      out.push(v.big !== undefined ? Number(BigInt.asIntN(64, v.big)) : v.value);
    }
    if (this.c.pos !== end) this.fail('packed field ends inside a varint');
  }
}
