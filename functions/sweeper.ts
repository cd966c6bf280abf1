/** Scheduled (EventBridge): runs the disconnect path for connections whose `$disconnect` was lost. */
import { lambdaSweeper } from '../lib/runtime/lambda';

export const handler = lambdaSweeper();
