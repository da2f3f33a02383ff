/**
 * The standard gRPC health service, grpc.health.v1.Health (Check, Watch, List), as specified in
 * https://github.com/grpc/grpc/blob/master/doc/health-checking.md and grpc/grpc-proto's health.proto.
 *
 * Implemented here with a static service definition and hand-written codecs over @bufbuild/protobuf/wire (already
 * a runtime dependency), not with the grpc-health-check package: that package loads health.proto at run time
 * through @grpc/proto-loader and protobufjs, which the runtime image leaves out on purpose
 * (scripts/assemble-runtime.mjs). The tests talk to this service with grpc-health-check's own client.
 *
 * Reports SERVING for the overall server ("") and for the RunFunction service once the server listens, and
 * NOT_SERVING while it drains. Watch streams are tracked and ended on drain: a graceful shutdown waits for every
 * open call, and a Watch never ends by itself.
 *
 *   message HealthCheckRequest  { string service = 1; }
 *   message HealthCheckResponse { ServingStatus status = 1; }   UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3
 *   message HealthListRequest   {}
 *   message HealthListResponse  { map<string, HealthCheckResponse> statuses = 1; }
 */
import * as grpc from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { FunctionRunnerServiceService } from '@crossplane-org/function-sdk-typescript';

/** `apiextensions.fn.proto.v1.FunctionRunnerService`, from the SDK's service definition. */
export const RUN_FUNCTION_SERVICE = FunctionRunnerServiceService.runFunction.path.split('/')[1]!;
export const HEALTH_SERVICES = ['', RUN_FUNCTION_SERVICE];

export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = keyof typeof ServingStatus;

interface CheckRequest {
  service: string;
}

function decodeCheckRequest(b: Buffer): CheckRequest {
  const r = new BinaryReader(b);
  let service = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) service = r.string();
    else r.skip(tag & 7);
  }
  return { service };
}

function encodeCheckRequest(m: CheckRequest): Buffer {
  const w = new BinaryWriter();
  if (m.service) w.uint32(10).string(m.service);
  return Buffer.from(w.finish());
}

function writeStatus(w: BinaryWriter, status: number): BinaryWriter {
  return status ? w.uint32(8).int32(status) : w;
}

const encodeStatus = (status: number): Buffer => Buffer.from(writeStatus(new BinaryWriter(), status).finish());

function decodeStatus(b: Buffer): { status: number } {
  const r = new BinaryReader(b);
  let status = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) status = r.int32();
    else r.skip(tag & 7);
  }
  return { status };
}

function encodeList(statuses: Map<string, number>): Buffer {
  const w = new BinaryWriter();
  for (const [service, status] of statuses) {
    w.uint32(10).fork();
    if (service) w.uint32(10).string(service);
    writeStatus(w.uint32(18).fork(), status).join();
    w.join();
  }
  return Buffer.from(w.finish());
}

const ignore = (): object => ({});
const empty = (): Buffer => Buffer.alloc(0);

/** grpc.health.v1.Health with this module's codecs (clients may use any health client). */
export const HealthService = {
  check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeCheckRequest,
    requestDeserialize: decodeCheckRequest,
    responseSerialize: (status: number) => encodeStatus(status),
    responseDeserialize: decodeStatus,
  },
  watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeCheckRequest,
    requestDeserialize: decodeCheckRequest,
    responseSerialize: (status: number) => encodeStatus(status),
    responseDeserialize: decodeStatus,
  },
  list: {
    path: '/grpc.health.v1.Health/List',
    requestStream: false,
    responseStream: false,
    requestSerialize: empty,
    requestDeserialize: ignore,
    responseSerialize: encodeList,
    responseDeserialize: ignore,
  },
} satisfies grpc.ServiceDefinition;

/** The grpc.health.v1 spec bounds List; we serve two services. */
const LIST_LIMIT = 100;

export class Health {
  private readonly statuses = new Map<string, number>(HEALTH_SERVICES.map((s) => [s, ServingStatus.NOT_SERVING]));
  private readonly watches = new Map<grpc.ServerWritableStream<CheckRequest, number>, string>();

  addToServer(server: grpc.Server): void {
    server.addService(HealthService, {
      check: (call: grpc.ServerUnaryCall<CheckRequest, number>, callback: grpc.sendUnaryData<number>) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        else callback(null, status);
      },
      watch: (call: grpc.ServerWritableStream<CheckRequest, number>) => {
        this.watches.set(call, call.request.service);
        const forget = () => this.watches.delete(call);
        call.once('cancelled', forget);
        call.once('finish', forget);
        call.once('error', forget);
        call.write(this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN);
      },
      list: (_call: grpc.ServerUnaryCall<object, Map<string, number>>, callback: grpc.sendUnaryData<Map<string, number>>) => {
        if (this.statuses.size > LIST_LIMIT) callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many services' });
        else callback(null, new Map(this.statuses));
      },
    });
  }

  /** Sets every service's status and tells the watchers of those that changed. */
  set(status: 'SERVING' | 'NOT_SERVING'): void {
    const value = ServingStatus[status];
    for (const service of HEALTH_SERVICES) {
      if (this.statuses.get(service) === value) continue;
      this.statuses.set(service, value);
      for (const [call, watched] of this.watches) if (watched === service) call.write(value);
    }
  }

  status(service = ''): ServingStatus | undefined {
    const v = this.statuses.get(service);
    return v === undefined ? undefined : (Object.keys(ServingStatus) as ServingStatus[]).find((k) => ServingStatus[k] === v);
  }

  /** NOT_SERVING for everyone, then ends the open Watch streams so that a graceful shutdown can complete. */
  drain(): void {
    this.set('NOT_SERVING');
    for (const call of this.watches.keys()) call.end();
    this.watches.clear();
  }
}
