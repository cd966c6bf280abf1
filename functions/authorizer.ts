/** `$connect` REQUEST authorizer: verifies a JWT from `?token=` or `Authorization: Bearer`. */
import { lambdaAuthorizer } from '../lib/auth/authorizer';

export const handler = lambdaAuthorizer();
