import type { z } from 'zod';
import type { Policy } from '../../services/policy';
import type { RequestCtx } from '../context';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A REST route: one declaration feeds the fastify handler, the policy check and the OpenAPI
 * document. Path parameters use `{name}` (OpenAPI style).
 */
export type RestRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> = {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  policy: Policy;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The body is a stream of these media types, handed to the handler unparsed and unbuffered
   * (uploads); `body` is then unused and the body limit does not apply: the service enforces its own.
   */
  rawBody?: { contentTypes: string[]; description: string };
  response: z.ZodType;
  /** The handler returns a Buffer or a readable stream of this media type instead of JSON (downloads). */
  rawResponse?: {
    contentType: string;
    description: string;
    /** A file name: the response is sent as an attachment (downloads the browser saves). */
    attachment?: (params: Record<string, string>) => string;
  };
  successStatus?: number;
  /**
   * Served by its own fastify route instead of the generic handler (the scoring hot path, which
   * authorises from in-memory caches): the declaration still feeds the OpenAPI document and the
   * policy and bad-input tests, and `handler` is not called.
   */
  custom?: true;
  handler: (args: {
    ctx: RequestCtx;
    params: z.output<P>;
    query: z.output<Q>;
    body: z.output<B>;
    /** The request body as a stream, for routes with `rawBody`. */
    raw: AsyncIterable<Buffer> | undefined;
  }) => Promise<unknown>;
};

export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(route: RestRoute<P, Q, B>): RestRoute {
  return route as unknown as RestRoute;
}
