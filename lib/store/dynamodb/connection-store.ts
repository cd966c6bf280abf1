/**
 * ConnectionStore on the `connections` table. CONNECT is a conditional update (the record must be
 * live and still 'open'), so two concurrent CONNECTs on one connection yield exactly one winner
 * [MQTT-3.1.0-2]; the loser's failed condition returns the old item, which tells "missing" from
 * "already connected" without a second read.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { epochSeconds, isExpired, systemClock, type Clock } from '../clock';
import { AlreadyConnectedError, ConnectionNotFoundError } from '../errors';
import type { ConnectionRecord, ConnectionStore, MqttConnectionFields, NewConnection, ReadOptions } from '../connection-port';
import type { ConnectionPage, ConnectionScan } from '../scan';
import { TABLE_SCHEMAS, TTL_ATTRIBUTE } from '../schema';
import { conditionally } from './conditionally';
import { ExpressionBuilder } from './expressions';
import { bool, jsonOf, num, numOneOf, optional, recordCodec, required, str, strOneOf, type Item } from './marshal';
import { connectionAclSchema, preAuthenticatedSchema } from '../../auth/codec';
import type { MeteredDynamoDb } from './metered';
import { isOwnWrite, newRequestToken, REQUEST_TOKEN } from './request-token';
import type { TransportMode } from '../../api-gateway';

export const connectionCodec = recordCodec<ConnectionRecord>('connections', {
  connectionId: required(str),
  mode: required(strOneOf(['text', 'binary'])),
  connectedAt: required(num),
  requestTimeEpoch: optional(num),
  sourceIp: optional(str),
  status: required(strOneOf(['open', 'mqtt'])),
  clientId: optional(str),
  protocolVersion: optional(numOneOf([3, 4, 5])),
  keepAlive: optional(num),
  cleanStart: optional(bool),
  username: optional(str),
  mqttConnectedAt: optional(num),
  sessionExpiryInterval: optional(num),
  receiveMaximum: optional(num),
  maximumPacketSize: optional(num),
  topicAliasMaximum: optional(num),
  hasWill: optional(bool),
  sessionEpoch: optional(str),
  principal: optional(str),
  acl: optional(jsonOf((v) => connectionAclSchema.safeParse(v).data)),
  preAuth: optional(jsonOf((v) => preAuthenticatedSchema.safeParse(v).data)),
  expiresAt: required(num),
});

const PK = TABLE_SCHEMAS.connections.partitionKey.name;

export interface DynamoStoreOptions {
  clock?: Clock;
}

export class DynamoConnectionStore implements ConnectionStore, ConnectionScan {
  private readonly clock: Clock;

  constructor(
    private readonly db: MeteredDynamoDb,
    private readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async open(connection: NewConnection): Promise<ConnectionRecord> {
    const record: ConnectionRecord = { ...connection, status: 'open' };
    await this.db.putItem({ TableName: this.tableName, Item: connectionCodec.toItem(record) });
    return connectionCodec.fromItem(connectionCodec.toItem(record));
  }

  async get(connectionId: string, options: ReadOptions = {}): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.db.getItem({
      TableName: this.tableName,
      Key: this.key(connectionId),
      ConsistentRead: options.consistent ?? true,
    });
    return this.live(Item);
  }

  /**
   * One conditional UpdateItem. It writes a request token (`rq`) with the record, so that the
   * SDK's resend of an applied write, whose condition then fails on status 'mqtt', recognises its
   * own write and answers the record instead of AlreadyConnectedError (issue 13).
   */
  async markConnected(connectionId: string, fields: MqttConnectionFields): Promise<ConnectionRecord> {
    const x = new ExpressionBuilder();
    const token = newRequestToken();
    const update = x.set({ ...connectionCodec.toAttributes({ ...fields, status: 'mqtt' }), [REQUEST_TOKEN]: { S: token } });
    const condition = `${this.liveCondition(x)} AND ${x.name('status')} = ${x.value({ S: 'open' })}`;
    const { Attributes } = await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(connectionId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      (failure) => {
        const old = this.live(failure.Item);
        if (old !== undefined && isOwnWrite(failure, token)) return { Attributes: failure.Item };
        if (old?.status === 'mqtt') throw new AlreadyConnectedError(connectionId, { cause: failure });
        throw new ConnectionNotFoundError(connectionId, { cause: failure });
      },
    );
    return connectionCodec.fromItem(Attributes as Item);
  }

  async setMode(connectionId: string, mode: TransportMode): Promise<void> {
    const x = new ExpressionBuilder();
    const update = x.set(connectionCodec.toAttributes({ mode }));
    await conditionally(
      () =>
        this.db.updateItem({
          TableName: this.tableName,
          Key: this.key(connectionId),
          UpdateExpression: update,
          ConditionExpression: this.liveCondition(x),
          ...x.attributes(),
        }),
      (failure) => {
        throw new ConnectionNotFoundError(connectionId, { cause: failure });
      },
    );
  }

  async remove(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Attributes } = await this.db.deleteItem({
      TableName: this.tableName,
      Key: this.key(connectionId),
      ReturnValues: 'ALL_OLD',
    });
    return this.live(Attributes);
  }

  private key(connectionId: string): Item {
    return { [PK]: { S: connectionId } };
  }

  /** One page of every record, expired ones included (the sweeper's view; eventually consistent). */
  async page(cursor?: string, limit = 100): Promise<ConnectionPage> {
    const out = await this.db.client.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        ExclusiveStartKey: cursor === undefined ? undefined : this.key(cursor),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.db.meter.record({
      operation: 'Scan',
      table: this.tableName,
      readUnits: out.ConsumedCapacity?.CapacityUnits ?? 0,
      writeUnits: 0,
    });
    const records = (out.Items ?? []).map((item) => connectionCodec.fromItem(item));
    const last = out.LastEvaluatedKey?.[PK]?.S;
    return last === undefined ? { records } : { records, cursor: last };
  }

  /** The item exists and its TTL has not passed. */
  private liveCondition(x: ExpressionBuilder): string {
    const now = x.value({ N: String(epochSeconds(this.clock())) });
    return `attribute_exists(${x.name(PK)}) AND ${x.name(TTL_ATTRIBUTE)} > ${now}`;
  }

  private live(item: Item | undefined): ConnectionRecord | undefined {
    if (item === undefined) return undefined;
    const record = connectionCodec.fromItem(item);
    return isExpired(record.expiresAt, this.clock()) ? undefined : record;
  }
}
