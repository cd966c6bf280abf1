/** `$default`: one WebSocket message carrying whole MQTT packets. */
import { lambdaHandlers } from '../lib/runtime/lambda';

export const handler = lambdaHandlers().message;
