/**
 * `/form`: S3 browser-based upload as it was meant, no JavaScript needed.
 * GET /form (sign-in, or the upload form for ?profile=), POST /form/session,
 * POST /form/signout, GET /form/done (storage redirects here; completes the
 * upload through the broker), GET /form/download?file=.
 * Every action goes through the broker's own API with the session's token.
 */
import type { PageHost } from "@sluice/broker";
import { type FormUpload, messagePage, resultPage, signInPage, uploadFormPage } from "./pages.ts";
import {
  COOKIE,
  createSealer,
  readCookie,
  readSmallForm,
  type SessionSealer,
  sameOrigin,
  sessionCookie,
} from "./session.ts";

interface ApiError {
  error?: { code: string; message: string };
}

const seeOther = (location: string, cookie?: string) =>
  new Response(null, { status: 303, headers: { location, ...(cookie ? { "set-cookie": cookie } : {}) } });

function withCookie(response: Response, cookie: string): Response {
  response.headers.append("set-cookie", cookie);
  return response;
}

export function createFormHandler(options: { sessionSecret?: string } = {}) {
  const sealer: SessionSealer = createSealer(options.sessionSecret);

  async function callApi(
    host: PageHost,
    options: { request: Request; token: string; path: string; method?: string; json?: unknown },
  ) {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
    if (options.json !== undefined) headers["content-type"] = "application/json";
    const response = await host.api(
      new Request(new URL(options.path, options.request.url), {
        method: options.method ?? "GET",
        headers,
        body: options.json === undefined ? undefined : JSON.stringify(options.json),
      }),
    );
    return { status: response.status, body: (await response.json()) as unknown };
  }

  /** An API error as a page; a refused token ends the session. */
  function failure(host: PageHost, request: Request, answer: { status: number; body: unknown }) {
    const error = (answer.body as ApiError).error;
    if (answer.status === 401)
      return withCookie(
        signInPage(host, { error: "Your session ended; sign in again.", status: 401 }),
        sessionCookie(request, undefined),
      );
    return messagePage(host, {
      title: answer.status === 404 ? "Not found" : "Could not do that",
      message: error?.message ?? "The server could not answer.",
      status: answer.status >= 500 ? 502 : answer.status,
    });
  }

  async function signIn(request: Request, host: PageHost): Promise<Response> {
    if (!sameOrigin(request))
      return messagePage(host, {
        title: "Refused",
        message: "Cross-site sign-in.",
        status: 403,
        signedIn: false,
      });
    const token = (await readSmallForm(request, 16_384))?.get("token")?.trim();
    if (!token) return signInPage(host, { error: "Enter an access token.", status: 400 });
    const check = await callApi(host, { request, token, path: "/v1/files?limit=1" });
    if (check.status !== 200)
      return signInPage(host, {
        error: check.status === 401 ? "This token was not accepted." : "Sign-in failed; try again.",
        status: check.status === 401 ? 401 : 502,
      });
    return seeOther("/form", sessionCookie(request, sealer.seal(token)));
  }

  async function showForm(request: Request, host: PageHost, token: string): Promise<Response> {
    const url = new URL(request.url);
    const names = Object.keys(host.profiles);
    const profile =
      url.searchParams.get("profile") ?? (names.includes("default") ? "default" : (names[0] ?? ""));
    const answer = await callApi(host, {
      request,
      token,
      path: "/v1/uploads",
      method: "POST",
      json: { form: true, redirect: "/form/done", profile },
    });
    if (answer.status !== 201) return failure(host, request, answer);
    const grant = answer.body as {
      upload: FormUpload;
      post: { url: string; fields: Record<string, string> };
    };
    return uploadFormPage(host, { profile, post: grant.post, upload: grant.upload });
  }

  async function done(request: Request, host: PageHost, token: string): Promise<Response> {
    const url = new URL(request.url);
    // Only the upload id is taken from the query; bucket, key and etag from storage are not trusted.
    const id = url.searchParams.get("upload") ?? "";
    if (!/^[0-9a-f-]{36}$/.test(id))
      return messagePage(host, { title: "Not found", message: "No such upload.", status: 404 });
    const answer = await callApi(host, {
      request,
      token,
      path: `/v1/uploads/${id}/complete`,
      method: "POST",
    });
    if (answer.status === 409 && (answer.body as ApiError).error?.code === "NotUploaded")
      return messagePage(host, {
        title: "Nothing uploaded",
        message: "Storage holds no file for this form yet. Choose a file and upload it.",
        status: 409,
      });
    if (answer.status !== 200) return failure(host, request, answer);
    return resultPage(host, answer.body as FormUpload, `/form/done?upload=${id}`);
  }

  async function download(request: Request, host: PageHost, token: string): Promise<Response> {
    const id = new URL(request.url).searchParams.get("file") ?? "";
    if (!/^[0-9a-f-]{36}$/.test(id))
      return messagePage(host, { title: "Not found", message: "No such file.", status: 404 });
    const answer = await callApi(host, { request, token, path: `/v1/files/${id}/download?json` });
    if (answer.status !== 200) return failure(host, request, answer);
    return seeOther((answer.body as { url: string }).url);
  }

  return async (request: Request, host: PageHost): Promise<Response | undefined> => {
    const { pathname } = new URL(request.url);
    const method = request.method;
    if (method === "POST" && pathname === "/form/session") return signIn(request, host);
    if (method === "POST" && pathname === "/form/signout") {
      if (!sameOrigin(request))
        return messagePage(host, { title: "Refused", message: "Cross-site request.", status: 403 });
      return seeOther("/form", sessionCookie(request, undefined));
    }
    if (method !== "GET" || !["/form", "/form/done", "/form/download"].includes(pathname)) return undefined;
    const cookie = readCookie(request, COOKIE);
    const token = cookie ? sealer.open(cookie) : undefined;
    if (!token) return signInPage(host, { status: pathname === "/form" ? 200 : 401 });
    if (pathname === "/form/done") return done(request, host, token);
    if (pathname === "/form/download") return download(request, host, token);
    return showForm(request, host, token);
  };
}
