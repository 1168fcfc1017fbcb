'use client';

import { useMemo, useState } from 'react';
import { stringify } from 'yaml';
import type { Endpoint, ModelVersionDetail } from './types';

type Feature = ModelVersionDetail['featureSchema']['inputs'][number];

/** A record field's JSON Schema, as the predict route accepts it (null stands for missing). */
function fieldSchema(f: Feature): Record<string, unknown> {
  if (f.tensor === 'string') {
    const known = [...(f.categories ?? []), ...(f.infrequentCategories ?? [])].filter((c) => c !== '');
    return { type: ['string', 'null'], ...(known.length ? { examples: known.slice(0, 8) } : {}), description: 'unseen categories are accepted and handled as the model does' };
  }
  if (f.tensor === 'bool' || f.type === 'boolean') return { type: ['boolean', 'null'] };
  if (f.tensor === 'int64' || f.tensor === 'int32') return { type: 'integer' };
  return { type: ['number', 'null'] };
}

/**
 * This endpoint's operation as an OpenAPI 3.1 fragment: the request's records typed by the served
 * version's features, and the answer. The whole API is at /api/openapi.json.
 */
export function openApiSnippet(endpoint: Endpoint, detail: ModelVersionDetail): string {
  const s = detail.featureSchema;
  const doc = {
    openapi: '3.1.0',
    paths: {
      [endpoint.path]: {
        post: {
          operationId: `predict_${endpoint.name.replace(/-/g, '_')}`,
          summary: `Score records with ${endpoint.model}`,
          security: [{ bearer: [] }],
          'x-scope': endpoint.scope,
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['records'],
                  properties: {
                    records: {
                      type: 'array',
                      minItems: 1,
                      maxItems: 10_000,
                      items: { type: 'object', required: s.inputs.map((f) => f.name), properties: Object.fromEntries(s.inputs.map((f) => [f.name, fieldSchema(f)])) },
                    },
                  },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'One prediction per record, in order',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      modelVersion: { type: 'integer' },
                      predictions: {
                        type: 'array',
                        items: {
                          type: 'object',
                          properties: {
                            label: { type: 'string', enum: [...s.classes] },
                            probabilities: { type: 'object', properties: Object.fromEntries(s.classes.map((c) => [c, { type: 'number', minimum: 0, maximum: 1 }])) },
                            modelVersion: { type: 'integer' },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            '400': { description: 'A bad record: the message names the record index and the field' },
            '401': { description: 'No or unknown API key' },
            '403': { description: `The key lacks the scope ${endpoint.scope}` },
            '413': { description: 'More than 10,000 records or 1 MiB' },
          },
        },
      },
    },
  };
  return stringify(doc, { lineWidth: 0 });
}

export function EndpointOpenApi({ endpoint, detail }: { endpoint: Endpoint; detail: ModelVersionDetail | undefined }) {
  const [open, setOpen] = useState(false);
  const text = useMemo(() => (detail ? openApiSnippet(endpoint, detail) : null), [endpoint, detail]);
  if (!text) return null;
  return (
    <div className="openapi-snippet">
      <button type="button" className="btn btn-sm btn-ghost" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {open ? 'Hide' : 'Show'} the OpenAPI of this endpoint
      </button>
      {open && (
        <pre className="code-block" data-testid="openapi-snippet">
          {text}
        </pre>
      )}
    </div>
  );
}
