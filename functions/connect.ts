/** `$connect`: the HTTP upgrade. Chooses the MQTT subprotocol and records the connection. */
import { lambdaHandlers } from '../lib/runtime/lambda';

export const handler = lambdaHandlers().connect;
