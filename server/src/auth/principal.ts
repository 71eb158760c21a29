/** Who is calling, as established from a verified access token. */
export interface Principal {
  sub: string;
  name: string | null;
  email: string | null;
  groups: string[];
  isAdmin: boolean;
  isAuditor: boolean;
}

export const SYSTEM_ACTOR = 'stint:system';
