/** A person who can sign in to the dev identity provider. Dev mode only: the passwords are printed. */
export interface DevUser {
  /** Also the login name and the token's `sub`. */
  id: string;
  name: string;
  email: string;
  password: string;
  groups: string[];
  /** What this user is for in a demo, e.g. "approver"; shown next to the printed credentials. */
  role: string;
}

/**
 * The seeded people of dev mode, one per part a demo needs: someone who asks for access, two
 * approvers (so a two-approval policy can be shown, and a requester never approves their own
 * request), and someone who administers and audits.
 */
export const DEV_USERS: readonly DevUser[] = Object.freeze(
  [
    {
      id: 'alice',
      name: 'Alice Adams',
      email: 'alice@stint.example',
      password: 'alice-dev-password',
      groups: ['engineering'],
      role: 'engineer',
    },
    {
      id: 'bob',
      name: 'Bob Baker',
      email: 'bob@stint.example',
      password: 'bob-dev-password',
      groups: ['engineering', 'sre-leads'],
      role: 'approver',
    },
    {
      id: 'carol',
      name: 'Carol Chen',
      email: 'carol@stint.example',
      password: 'carol-dev-password',
      groups: ['security', 'sre-leads'],
      role: 'approver',
    },
    {
      id: 'dana',
      name: 'Dana Diaz',
      email: 'dana@stint.example',
      password: 'dana-dev-password',
      groups: ['stint-admins', 'auditors'],
      role: 'admin and auditor',
    },
  ].map((user) => Object.freeze({ ...user, groups: Object.freeze([...user.groups]) as string[] })),
);

export function findDevUser(id: string): DevUser | undefined {
  return DEV_USERS.find((user) => user.id === id);
}
