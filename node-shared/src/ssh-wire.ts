// SSH wire encoding (RFC 4251 section 5), shared by the server's certificate authority and
// core's ssh-agent client. Node-only (Buffer), hence in node-shared, which the renderer may not import.

const U64_MAX = (1n << 64n) - 1n;

export class SshWriter {
  private readonly chunks: Buffer[] = [];

  u8(value: number): this {
    this.chunks.push(Buffer.from([value]));
    return this;
  }

  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.chunks.push(b);
    return this;
  }

  u64(value: bigint): this {
    if (value < 0n || value > U64_MAX) throw new RangeError(`${value} does not fit in a uint64`);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(value);
    this.chunks.push(b);
    return this;
  }

  string(value: Buffer | string): this {
    const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.u32(b.length);
    this.chunks.push(b);
    return this;
  }

  /** Non-negative mpint: minimal big-endian, with a 0x00 lead byte when the top bit is set. */
  mpint(value: bigint): this {
    if (value < 0n) throw new RangeError('negative mpint');
    if (value === 0n) return this.string(Buffer.alloc(0));
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let b = Buffer.from(hex, 'hex');
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return this.string(b);
  }

  /** Bytes already in wire form (a key's encoded parts). */
  raw(bytes: Buffer): this {
    this.chunks.push(bytes);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Bounds-checked reader: keys come from requesters and replies from whatever owns a socket, so every length is distrusted. */
export class SshReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  get atEnd(): boolean {
    return this.offset === this.buffer.length;
  }

  private take(n: number): Buffer {
    if (n > this.buffer.length - this.offset) throw new Error('truncated');
    const out = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u32(): number {
    return this.take(4).readUInt32BE();
  }

  string(): Buffer {
    return this.take(this.u32());
  }

  text(): string {
    return this.string().toString('utf8');
  }

  mpint(): bigint {
    const b = this.string();
    if (b.length === 0) return 0n;
    if (b[0]! & 0x80) throw new Error('negative mpint');
    return BigInt(`0x${b.toString('hex')}`);
  }
}

