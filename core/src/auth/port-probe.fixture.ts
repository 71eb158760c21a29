/** Test-only: whether anything still listens on a loopback port. */
import { connect } from 'node:net';

/** True when a TCP connection to 127.0.0.1:port is refused, i.e. nothing listens there. */
export function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
