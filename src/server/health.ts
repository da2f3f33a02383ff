/**
 * The standard gRPC health service (grpc.health.v1.Health: Check, Watch, List) from grpc-health-check, the gRPC
 * project's own implementation. Reports SERVING for the overall server ("") and for the RunFunction service
 * once the server listens, NOT_SERVING while it drains.
 *
 * grpc-health-check keeps Watch streams open forever; a graceful shutdown waits for every open call, so the
 * streams are tracked here and ended when the server drains (after telling watchers NOT_SERVING).
 */
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { FunctionRunnerServiceService } from '@crossplane-org/function-sdk-typescript';

/** `apiextensions.fn.proto.v1.FunctionRunnerService`, from the SDK's service definition. */
export const RUN_FUNCTION_SERVICE = FunctionRunnerServiceService.runFunction.path.split('/')[1]!;
export const HEALTH_SERVICES = ['', RUN_FUNCTION_SERVICE];

export class Health {
  private readonly impl = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as ServingStatus])));
  private readonly watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();

  addToServer(server: grpc.Server): void {
    const watches = this.watches;
    this.impl.addToServer({
      addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) {
        const watch = implementation.watch as grpc.handleServerStreamingCall<unknown, unknown>;
        server.addService(service, {
          ...implementation,
          watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
            watches.add(call);
            const forget = () => watches.delete(call);
            call.once('cancelled', forget);
            call.once('finish', forget);
            call.once('error', forget);
            watch(call);
          },
        });
      },
    } as unknown as Parameters<HealthImplementation['addToServer']>[0]);
  }

  set(status: ServingStatus): void {
    for (const s of HEALTH_SERVICES) this.impl.setStatus(s, status);
  }

  /** NOT_SERVING for everyone, then ends the open Watch streams so that a graceful shutdown can complete. */
  drain(): void {
    this.set('NOT_SERVING');
    for (const call of this.watches) call.end();
    this.watches.clear();
  }
}
