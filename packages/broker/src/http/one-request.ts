// The one-request upload route (routes/put.ts) declares a file's size but
// sends its body to storage: the HTTP layers around it must neither limit,
// read nor ask for (100 Continue) that body.
export const ONE_REQUEST_PREFIX = "/v1/put/";

export function isOneRequestUpload(path: string): boolean {
  return path.startsWith(ONE_REQUEST_PREFIX);
}
