import { formatDuration, type PolicyPreview } from '@stint/contract';

const approvals = (n: number) => `${n} approval${n === 1 ? '' : 's'}`;

/** What the policy will do for this person, in the words the catalog shows before they ask. */
export function policyText(policy: PolicyPreview): string[] {
  const parts: string[] = [];
  const review = `needs ${approvals(policy.approvalsRequired)} from ${policy.approverGroups.join(' or ') || 'an approver'}`;
  if (policy.approvalsRequired === 0) parts.push('granted at once');
  else if (policy.autoApproveUpToSeconds !== null) parts.push(`auto-approved up to ${formatDuration(policy.autoApproveUpToSeconds)}`, `longer ${review}`);
  else parts.push(review);
  if (policy.justification === 'required') parts.push('reason required');
  if (policy.ticketPattern !== null) parts.push('ticket required');
  if (policy.breakGlassAllowed) parts.push('break-glass allowed');
  return parts;
}

/** True when a request of this length would be approved without review. */
export function isAutoApproved(policy: PolicyPreview, durationSeconds: number): boolean {
  return policy.approvalsRequired === 0 || (policy.autoApproveUpToSeconds !== null && durationSeconds <= policy.autoApproveUpToSeconds);
}
