import { generateKeyPairSync } from 'node:crypto';
import sshpk from 'sshpk';

export interface SshKeyPair {
  /** "ssh-ed25519 AAAA... comment", sent to the server to be certified. */
  publicKey: string;
  /** OpenSSH private key text; lives only in the keychain and the ssh-agent. */
  privateKey: string;
}

/** A fresh ed25519 key per grant, so a leaked key dies with its certificate. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = sshpk.parsePrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 'pem');
  key.comment = comment;
  return { publicKey: key.toPublic().toString('ssh'), privateKey: key.toString('ssh-private') };
}
