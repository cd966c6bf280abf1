/** `$default` frames (direct ingress) or batches of the ingress queue (ordered ingress). */
import { lambdaMessageHandler } from '../lib/runtime/lambda';

export const handler = lambdaMessageHandler();
