import { z } from 'zod';
import { VERSION } from '../../version';
import type { RestRoute } from './route';

type JsonSchema = { properties?: Record<string, unknown>; required?: string[]; [k: string]: unknown };

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete s.$schema;
  return s;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const js = toSchema(schema, 'input');
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
  }));
}

const ErrorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        field: { type: 'string' },
        issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
};

/** OpenAPI 3.1, generated from the same zod schemas that validate the requests. */
export function openApiDocument(routes: RestRoute[], serverUrl?: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: r.tags,
      security: r.policy.kind === 'public' ? [] : [{ apiKey: [] }, { session: [] }],
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      responses: {
        [String(r.successStatus ?? 200)]: { description: 'OK', content: { 'application/json': { schema: toSchema(r.response, 'output') } } },
        '400': errorResponse('Invalid input: the message and `field` name what was wrong'),
        '401': errorResponse('No valid session or API key'),
        '403': errorResponse('Not allowed for this user or key'),
        '404': errorResponse('Not found'),
        '413': errorResponse('Request body too large'),
      },
    };
    if (r.rawResponse) {
      (op.responses as Record<string, unknown>)[String(r.successStatus ?? 200)] = {
        description: r.rawResponse.description,
        content: { [r.rawResponse.contentType]: { schema: { type: 'string', contentMediaType: r.rawResponse.contentType } } },
      };
    }
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(r.body, 'input') } } };
    if (r.rawBody) {
      op.requestBody = {
        required: true,
        description: r.rawBody.description,
        content: Object.fromEntries(r.rawBody.contentTypes.map((t) => [t, { schema: { type: 'string' } }])),
      };
      (op.responses as Record<string, unknown>)['415'] = errorResponse('The body is not of the media type this operation takes');
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  paths['/api/health'] = {
    get: { operationId: 'health', summary: 'Database and Temporal reachability, version', tags: ['system'], security: [], responses: { '200': { description: 'healthy' }, '503': { description: 'degraded' } } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Stagebook API', version: VERSION, description: 'Stagebook REST API. Authenticate with `Authorization: Bearer <API key>`.' },
    servers: serverUrl ? [{ url: serverUrl }] : [],
    paths,
    components: {
      schemas: { Error: ErrorSchema },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A project API key (sbk_...) with the scopes the operation needs' },
        session: { type: 'apiKey', in: 'cookie', name: 'sb_session' },
      },
    },
  };
}
