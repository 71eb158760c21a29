import { z } from 'zod';
import { AccessRequest, Grant } from './domain';

/**
 * Server-sent events on GET /v1/events. Each is delivered only to the people it concerns:
 * reviewers see requests they may review; requesters see their own requests and grants.
 */
export const StintEvent = z.discriminatedUnion('type', [
  /** A request you may review arrived, or changed (approved by someone else, cancelled...). */
  z.object({ type: z.literal('review.requested'), request: AccessRequest }),
  z.object({ type: z.literal('review.updated'), request: AccessRequest }),
  /** Your request changed state (approved, denied, expired, cancelled). */
  z.object({ type: z.literal('request.updated'), request: AccessRequest }),
  /** Approved; waits for its requester to start it, or for its start time. */
  z.object({ type: z.literal('grant.ready'), grant: Grant }),
  z.object({ type: z.literal('grant.activated'), grant: Grant }),
  z.object({ type: z.literal('grant.extended'), grant: Grant }),
  z.object({ type: z.literal('grant.expiring'), grant: Grant, secondsLeft: z.number().int().nonnegative() }),
  z.object({ type: z.literal('grant.ended'), grant: Grant }),
]);
export type StintEvent = z.infer<typeof StintEvent>;
export type StintEventType = StintEvent['type'];

/** An event as stored and streamed: its id orders it and resumes a stream (Last-Event-ID). */
export const StintEventEnvelope = z.object({ id: z.string(), at: z.iso.datetime({ offset: true }), event: StintEvent });
export type StintEventEnvelope = z.infer<typeof StintEventEnvelope>;
