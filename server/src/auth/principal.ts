import type { Identity } from './identity';

/** Who is calling, as established from a verified access token. */
export interface Principal extends Identity {
  isAdmin: boolean;
  isAuditor: boolean;
  /** When the access token this was read from expires (epoch ms), when the token says. */
  tokenExpiresAt?: number;
}

export const SYSTEM_ACTOR = 'stint:system';
