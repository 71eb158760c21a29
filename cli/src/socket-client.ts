import { BridgeReply, SocketCalls, type SocketMethod } from '@stint/contract';
import type { z } from 'zod';
import { CliError, exitFor } from './errors';
import { SocketWire, type RawReply } from './socket-wire';

export { CliError, EXIT } from './errors';

const isBridgeReply = (message: unknown): message is RawReply => BridgeReply.safeParse(message).success;

/** One connection to the app's (or `stint agent`'s) local socket; every reply checked against the contract. */
export class SocketClient {
  private constructor(private readonly wire: SocketWire) {}

  static async connect(path: string): Promise<SocketClient> {
    return new SocketClient(await SocketWire.connect(path, isBridgeReply));
  }

  async call<M extends SocketMethod>(method: M, input: z.input<(typeof SocketCalls)[M]['input']>): Promise<z.output<(typeof SocketCalls)[M]['output']>> {
    const reply = await this.wire.send(method, input);
    if (!reply.ok) throw new CliError(reply.error!.message, exitFor(reply.error!), reply.error!.code);
    return SocketCalls[method].output.parse(reply.result) as z.output<(typeof SocketCalls)[M]['output']>;
  }

  close(): void {
    this.wire.close();
  }
}
