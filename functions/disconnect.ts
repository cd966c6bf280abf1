/** `$disconnect` (best effort): removes the connection's records. */
import { lambdaHandlers } from '../lib/runtime/lambda';

export const handler = lambdaHandlers().disconnect;
