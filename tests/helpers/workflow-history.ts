/**
 * Workflow histories <-> Temporal's JSON history format (what `temporal workflow show --output json`
 * writes). The SDK's `historyToJSON`/`historyFromJSON` (@temporalio/common/lib/proto-utils) throw
 * "type must be a Type" in this tree: npm installed two copies of protobufjs 8 (one under
 * @temporalio/common, one under @temporalio/proto) and the reflected type comes from the other one.
 * So the same conversion here with the protobufjs that @temporalio/proto itself uses.
 */
import { createRequire } from 'node:module';
import type * as Proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type ProtoJson = { toJson: (type: unknown, message: unknown) => unknown; fromJson: (type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }) => unknown };

const require = createRequire(import.meta.url);
// The CommonJS module itself (its root namespace), not an ES module namespace around it.
const proto = require('@temporalio/proto') as typeof Proto;
const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType: (name: string) => unknown }).lookupType('temporal.api.history.v1.History');

export type History = temporal.api.history.v1.IHistory;

export const historyToJson = (history: History): unknown => protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history));

/** Unknown fields (a newer server's) are ignored, as the SDK does. */
export const historyFromJson = (json: unknown): History => protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
