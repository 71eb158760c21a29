// OpenSshAgent against fake agents on a Unix socket, for the replies a real ssh-agent will not give on demand.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenSshAgent, SshAgentError } from './agent';
import { certifiedKey, dir, sleep, sshTestBedForFile } from './agent.fixture';

sshTestBedForFile({ agent: false });


describe('OpenSshAgent against misbehaving agents', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  /** A fake agent at a fresh socket; onRequest gets each connection's first whole message. */
  async function fakeAgent(onRequest: (socket: net.Socket, message: Buffer) => void): Promise<string> {
    const socket = path.join(dir, `fake-${randomUUID()}.sock`);
    const server = net.createServer((connection) => {
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 4 || received.length < 4 + received.readUInt32BE(0)) return;
        connection.off('data', onData);
        onRequest(connection, received);
      };
      connection.on('data', onData);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return socket;
  }

  const reply = (type: number, body = Buffer.alloc(0)) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(body.length + 1);
    header[4] = type;
    return Buffer.concat([header, body]);
  };

  it('says which agent did not answer, after 2 s', async () => {
    const agent = new OpenSshAgent(await fakeAgent(() => {}));
    const key = await certifiedKey();
    const started = Date.now();
    await expect(agent.add(randomUUID(), key.privateKey, key.certificate, 300)).rejects.toThrow(`ssh-agent at ${agent.socketPath} did not answer within 2 s`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('explains a refusal (SSH_AGENT_FAILURE), e.g. an agent without certificate support', async () => {
    const agent = new OpenSshAgent(await fakeAgent((s) => s.end(reply(5))));
    const key = await certifiedKey();
    const error = await agent.add(randomUUID(), key.privateKey, key.certificate, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshAgentError);
    expect((error as Error).message).toMatch(/refused the key .* lifetime limits/);
  });

  it('sends the add message the draft describes, with the lifetime constraint last', async () => {
    let request = Buffer.alloc(0);
    const agent = new OpenSshAgent(
      await fakeAgent((s, data) => {
        request = Buffer.from(data);
        s.end(reply(6));
      }),
    );
    const key = await certifiedKey();
    await agent.add('g-1', key.privateKey, key.certificate, 1234);
    expect(request.readUInt32BE(0)).toBe(request.length - 4);
    expect(request[4]).toBe(25);
    expect(request.subarray(-5)).toEqual(Buffer.from([1, 0, 0, 0x04, 0xd2]));
    const comment = Buffer.from('stint:g-1');
    expect(request.subarray(-5 - comment.length, -5)).toEqual(comment);
  });

  it('sends a remove issued during an add only after the add is answered, so the key cannot come back', async () => {
    const seen: string[] = [];
    const agent = new OpenSshAgent(
      await fakeAgent(async (s, message) => {
        const type = message[4]!;
        seen.push(`request ${type}`);
        if (type === 25) {
          await sleep(200); // a slow agent (or a confirm prompt) still holding the add
          seen.push('added');
          s.end(reply(6));
        } else if (type === 11) {
          s.end(reply(12, Buffer.alloc(4)));
        } else {
          s.end(reply(6));
        }
      }),
    );
    const grantId = randomUUID();
    const key = await certifiedKey();
    const [, removed] = await Promise.all([agent.add(grantId, key.privateKey, key.certificate, 300), agent.remove(grantId)]);
    expect(seen).toEqual(['request 25', 'added', 'request 11', 'request 18']);
    expect(removed).toBe(true);
  });

  it('reassembles a reply that arrives a byte at a time', async () => {
    const agent = new OpenSshAgent(
      await fakeAgent(async (s) => {
        for (const byte of reply(12, Buffer.alloc(4))) {
          s.write(Buffer.from([byte]));
          await sleep(5);
        }
      }),
    );
    expect(await agent.remove(randomUUID())).toBe(false);
  });

  it('refuses a reply too long to be from an ssh-agent', async () => {
    const agent = new OpenSshAgent(await fakeAgent((s) => s.end(Buffer.from([0x7f, 0, 0, 0, 12]))));
    await expect(agent.remove(randomUUID())).rejects.toThrow(/is SSH_AUTH_SOCK an ssh-agent\?/);
  });

  it('says when the agent hangs up without answering', async () => {
    const agent = new OpenSshAgent(await fakeAgent((s) => s.end()));
    await expect(agent.remove(randomUUID())).rejects.toThrow(/closed the connection without answering/);
  });

  it('says when nothing listens at SSH_AUTH_SOCK', async () => {
    const agent = new OpenSshAgent(path.join(dir, 'no-such-agent.sock'));
    await expect(agent.remove(randomUUID())).rejects.toThrow(/ssh-agent at .*no-such-agent.sock is not running/);
  });
});
