/**
 * @sluice/server: Sluice for the application's backend. Calls the broker with
 * a server key (scope `server`) and verifies the broker's Standard Webhooks.
 * Its types come from the broker's OpenAPI document (api.gen.ts), so they
 * cannot drift from the API. A separate package from @sluice/client because
 * it holds secrets (a server key, webhook secrets) that must never be bundled
 * into a browser, and it needs a webhook verifier the browser SDK does not.
 */
import { SluiceError } from "@sluice/core";
import createFetchClient from "openapi-fetch";
import { Webhook } from "standardwebhooks";
import type { components, paths } from "./api.gen.ts";

type Schemas = components["schemas"];
export type SluiceFile = Schemas["Upload"];
export type ShareLink = Schemas["Link"];
export type LinkInfo = Schemas["LinkInfo"];
export type UserToken = Schemas["UserToken"];
export type AuditEntry = Schemas["AuditEntry"];
export type ApiKey = Schemas["ApiKey"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
export type WebhookDeliveryLog = Schemas["WebhookDeliveryLog"];
export type MetadataValue = string | number | boolean;

/** Every event the broker sends, discriminated by `type`. */
export type WebhookEvent =
  | Schemas["FileReadyEvent"]
  | Schemas["FileRejectedEvent"]
  | Schemas["FileDeletedEvent"]
  | Schemas["UploadExpiredEvent"]
  | Schemas["LinkUsedEvent"];
export type WebhookEventType = WebhookEvent["type"];

export interface SluiceServerOptions {
  /** Broker URL, e.g. https://files.example.com */
  url: string;
  /** A server key (`sluice apikey create --server`). Needed for API calls, not for verifying webhooks. */
  key?: string;
  /** The endpoint's whsec_… secret(s); several while you rotate them. Needed for webhooks.verify. */
  webhookSecret?: string | string[];
  fetch?: typeof fetch;
}

export interface ListFilesOptions {
  /** Only this user's files (default: every user of the tenant). */
  user?: string;
  state?: "uploaded" | "ready" | "rejected";
  /** `metadata.<key>=<value>` filters, all of which must match. */
  metadata?: Record<string, MetadataValue>;
  serverMetadata?: Record<string, MetadataValue>;
  limit?: number;
  /** `next` of the previous page. */
  before?: string;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The broker's data, or its JSON error as a SluiceError (code, status, message). */
function unwrap<T>(answer: Answer<T>): T {
  const { response } = answer;
  if (response.ok) return answer.data as T;
  const body = answer.error as { error?: { code?: string; message?: string } } | undefined;
  throw new SluiceError({
    code: body?.error?.code ?? "BrokerError",
    status: response.status,
    message: body?.error?.message ?? `The broker answered ${response.status}`,
  });
}

function filterQuery(prefix: string, values: Record<string, MetadataValue> | undefined) {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [`${prefix}.${k}`, String(v)]));
}

export function createSluiceServer(options: SluiceServerOptions) {
  const api = createFetchClient<paths>({
    baseUrl: options.url.replace(/\/+$/, ""),
    headers: options.key ? { authorization: `Bearer ${options.key}` } : {},
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const secrets = [options.webhookSecret ?? []].flat();
  const path = (id: string) => ({ params: { path: { id } } });

  return {
    files: {
      /** One page of the tenant's files, newest first; `next` fetches the following page. */
      async list(list: ListFilesOptions = {}): Promise<{ files: SluiceFile[]; next: string | null }> {
        const { metadata, serverMetadata, ...query } = list;
        const filters = {
          ...filterQuery("metadata", metadata),
          ...filterQuery("serverMetadata", serverMetadata),
        };
        return unwrap(await api.GET("/v1/files", { params: { query: { ...query, ...filters } } }));
      },
      async get(id: string): Promise<SluiceFile> {
        return unwrap(await api.GET("/v1/files/{id}", path(id)));
      },
      async delete(id: string): Promise<void> {
        unwrap(await api.DELETE("/v1/files/{id}", path(id)));
      },
    },
    links: {
      /** A share link to a ready file; its URL (with the token) is only in this answer. */
      async create(
        fileId: string,
        link: { expiresIn?: number; maxDownloads?: number } = {},
      ): Promise<ShareLink> {
        return unwrap(await api.POST("/v1/files/{id}/links", { ...path(fileId), body: link }));
      },
      async list(list: { file?: string; limit?: number } = {}): Promise<LinkInfo[]> {
        return unwrap(await api.GET("/v1/links", { params: { query: list } })).links;
      },
      async revoke(id: string): Promise<void> {
        unwrap(await api.DELETE("/v1/links/{id}", path(id)));
      },
    },
    tokens: {
      /** A short-lived bearer token for one user of the tenant (hand it to that user's browser). */
      async create(token: { user: string; expiresIn?: number; profiles?: string[] }): Promise<UserToken> {
        return unwrap(await api.POST("/v1/tokens", { body: { expiresIn: 600, ...token } }));
      },
    },
    apiKeys: {
      /** Every API key of the tenant (ids, owners, labels; never the secrets), newest first. */
      async list(): Promise<ApiKey[]> {
        return unwrap(await api.GET("/v1/api-keys")).apiKeys;
      },
      /** Revokes a key of the tenant: every broker refuses it from its next request. */
      async revoke(id: string): Promise<void> {
        unwrap(await api.DELETE("/v1/api-keys/{id}", path(id)));
      },
    },
    audit: {
      async list(
        query: { subject?: string; action?: string; user?: string; limit?: number; cursor?: string } = {},
      ): Promise<{ entries: AuditEntry[]; next: string | null }> {
        return unwrap(await api.GET("/v1/audit", { params: { query } }));
      },
    },
    webhooks: {
      /**
       * Checks a webhook request's Standard Webhooks signature (and its
       * timestamp, against replays) and returns the typed event. Throws a
       * SluiceError 401 InvalidWebhook when it is not from the broker.
       */
      async verify(request: Request): Promise<WebhookEvent> {
        if (secrets.length === 0)
          throw new Error("createSluiceServer: webhookSecret is needed to verify webhooks");
        const body = await request.text();
        const headers = {
          "webhook-id": request.headers.get("webhook-id") ?? "",
          "webhook-timestamp": request.headers.get("webhook-timestamp") ?? "",
          "webhook-signature": request.headers.get("webhook-signature") ?? "",
        };
        for (const secret of secrets) {
          try {
            return new Webhook(secret).verify(body, headers) as WebhookEvent;
          } catch {}
        }
        throw new SluiceError({
          code: "InvalidWebhook",
          status: 401,
          message: "Webhook signature does not verify",
        });
      },
      deliveries: {
        async list(
          query: {
            state?: "pending" | "delivered" | "failed";
            file?: string;
            limit?: number;
            cursor?: string;
          } = {},
        ): Promise<{ deliveries: WebhookDelivery[]; next: string | null }> {
          return unwrap(await api.GET("/v1/webhooks/deliveries", { params: { query } }));
        },
        async get(id: string): Promise<WebhookDeliveryLog> {
          return unwrap(await api.GET("/v1/webhooks/deliveries/{id}", path(id)));
        },
        /** Sends the delivery's event again (same webhook-id) as a new delivery. */
        async replay(id: string): Promise<WebhookDelivery> {
          return unwrap(await api.POST("/v1/webhooks/deliveries/{id}/replay", path(id)));
        },
      },
    },
  };
}

export type SluiceServer = ReturnType<typeof createSluiceServer>;
