import { v7 } from 'uuid';

/**
 * Ids of new requests, reviews and grants: UUIDv7 (RFC 9562), ordered by time, so a new row's
 * id goes at the end of its indexes instead of onto a random page of each. A v7 id tells when
 * its row was made, which the row shows anyway; ids are not secrets, every read checks who
 * asks. What people are shown is the random end (contract's shortId), and what providers name
 * after a grant is its random bits (providers/grant-token.ts).
 */
export const newRowId = (): string => v7();
