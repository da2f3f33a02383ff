/**
 * Protobuf decoding of RunFunction requests, with more nesting allowed than the SDK's decoder allows by itself.
 *
 * The SDK's generated (ts-proto) decoders refuse more than 100 nested messages ("protobuf decode recursion limit
 * exceeded"). Every JSON level of a google.protobuf.Struct costs three (Struct, its map entry, Value), so a
 * request whose XR nests more than ~32 levels (e.g. a claim's spec.affinity nested 40 deep, which the apiserver
 * accepts) could not even be decoded, and Crossplane would only see a gRPC error that names no field.
 * decodeRequest counts the real depth and shows the decoders a quarter of it: requests nest up to ~130 JSON levels,
 * and src/function/guard.ts refuses anything nested deeper than 64 with a FATAL result naming the field.
 * Decoding stays recursive but bounded (400 messages deep is a few hundred stack frames).
 *
 * If a future SDK stops using the `__tsProtoDecodeDepth` counter, this degrades to the SDK's own limit.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';

/** The SDK's decoders stop at 100 nested messages; we let them go DEPTH_SCALE times deeper. */
export const DEPTH_SCALE = 4;

/**
 * Decodes a RunFunctionRequest. The SDK's decoder runs first (the accessor below slows every read of the reader
 * down, about 2x); only a request it refuses for its depth is decoded again, counting depth our way.
 */
export function decodeRequest(bytes: Uint8Array): RunFunctionRequest {
  try {
    return RunFunctionRequest.decode(bytes);
  } catch (err) {
    if (!/recursion limit/.test((err as Error).message)) throw err;
  }
  return decodeDeep(bytes);
}

function decodeDeep(bytes: Uint8Array): RunFunctionRequest {
  const reader = new BinaryReader(bytes);
  let depth = 0;
  let justRead = false;
  // ts-proto does `prev = reader.__tsProtoDecodeDepth ?? 0; if (prev >= 100) throw …; reader.__tsProtoDecodeDepth =
  // prev + 1; try { … } finally { reader.__tsProtoDecodeDepth = prev }`: a write right after a read enters a
  // message, any other write leaves one.
  Object.defineProperty(reader, '__tsProtoDecodeDepth', {
    configurable: true,
    get() {
      justRead = true;
      return Math.floor(depth / DEPTH_SCALE);
    },
    set(_: number) {
      depth += justRead ? 1 : -1;
      justRead = false;
    },
  });
  return RunFunctionRequest.decode(reader);
}
