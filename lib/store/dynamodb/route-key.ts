/**
 * Route keys as stored. The `subscriptions` and `retained` tables are partitioned by a first
 * level (or '+' / '#' for subscriptions), and a first level may be empty ('/a'); DynamoDB refuses
 * an empty string in a key attribute, so the empty level is stored as '/', which no level can
 * contain. Every other key is stored as it is.
 */
export function storedRouteKey(key: string): string {
  return key === '' ? '/' : key;
}
