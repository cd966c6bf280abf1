/**
 * The optional custom domain of the WebSocket API: an API Gateway (v2) regional domain name with
 * an ACM certificate (given, or created and validated by DNS in the hosted zone), the stage mapped
 * at `basePath`, and an optional Route 53 alias record. Only clients use it: the functions keep
 * calling `@connections` on the execute-api endpoint (`WebSocketStage.callbackUrl`), which AWS
 * documents for the management API and which needs no mapping path in the URL.
 */
import { ApiMapping, DomainName, type WebSocketApi, type WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate, CertificateValidation, type ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import { ARecord, HostedZone, RecordTarget, type IHostedZone } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { CustomDomainProps } from './props';

export interface BrokerDomain {
  readonly domainName: DomainName;
  readonly certificate: ICertificate;
  /** `wss://{domain}/{basePath}`, or `wss://{domain}` when mapped at the root */
  readonly url: string;
  /** Present when the stack manages the DNS record */
  readonly aliasRecord?: ARecord;
}

function hostedZoneOf(scope: Construct, domain: CustomDomainProps): IHostedZone | undefined {
  const zone = domain.hostedZone;
  if (zone === undefined) return undefined;
  if (Construct.isConstruct(zone)) return zone as IHostedZone;
  return HostedZone.fromHostedZoneAttributes(scope, 'HostedZone', zone);
}

function certificateOf(scope: Construct, domain: CustomDomainProps, zone: IHostedZone | undefined): ICertificate {
  if (domain.certificate) return domain.certificate;
  if (domain.certificateArn) return Certificate.fromCertificateArn(scope, 'Certificate', domain.certificateArn);
  // Validated props guarantee a zone here.
  return new Certificate(scope, 'Certificate', {
    domainName: domain.domainName,
    validation: CertificateValidation.fromDns(zone),
  });
}

/** The path the stage is mapped at: the stage name unless set; '' maps the root. */
export function basePathOf(domain: CustomDomainProps, stageName: string): string {
  return domain.basePath ?? stageName;
}

export function createCustomDomain(
  scope: Construct,
  domain: CustomDomainProps,
  target: { readonly api: WebSocketApi; readonly stage: WebSocketStage; readonly stageName: string },
): BrokerDomain {
  const zone = hostedZoneOf(scope, domain);
  const certificate = certificateOf(scope, domain, zone);
  const domainName = new DomainName(scope, 'DomainName', { domainName: domain.domainName, certificate });
  const basePath = basePathOf(domain, target.stageName);
  new ApiMapping(scope, 'ApiMapping', {
    api: target.api,
    domainName,
    stage: target.stage,
    apiMappingKey: basePath === '' ? undefined : basePath,
  });
  const aliasRecord =
    zone !== undefined && (domain.aliasRecord ?? true)
      ? new ARecord(scope, 'AliasRecord', {
          zone,
          recordName: domain.domainName,
          target: RecordTarget.fromAlias(new ApiGatewayv2DomainProperties(domainName.regionalDomainName, domainName.regionalHostedZoneId)),
          comment: 'Stratus MQTT broker: the WebSocket API custom domain',
        })
      : undefined;
  const url = basePath === '' ? `wss://${domain.domainName}` : `wss://${domain.domainName}/${basePath}`;
  return { domainName, certificate, url, aliasRecord };
}
