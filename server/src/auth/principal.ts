import type { Identity } from './identity';

/** Who is calling, as established from a verified access token. */
export interface Principal extends Identity {
  isAdmin: boolean;
  isAuditor: boolean;
}

export const SYSTEM_ACTOR = 'stint:system';
