// Events as AWS delivers them to a Lambda function, for the handler's tests
// (in-process, and the built zip run by plain node).

/** An API Gateway HTTP API (payload 2.0) event. */
export function apiGatewayEvent(options: {
  method: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
}) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: options.path,
    rawQueryString: options.query ?? "",
    headers: { host: "api.example.com", ...options.headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.com",
      http: {
        method: options.method,
        path: options.path,
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.9",
        userAgent: "test",
      },
      requestId: "r1",
      routeKey: "$default",
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: options.body,
    isBase64Encoded: false,
  };
}

/** An SQS message carrying an S3 event notification of one created object. */
export function sqsS3Record(messageId: string, bucket: string, key: string) {
  const s3Event = {
    Records: [{ eventName: "ObjectCreated:Put", s3: { bucket: { name: bucket }, object: { key } } }],
  };
  return { eventSource: "aws:sqs", messageId, body: JSON.stringify(s3Event) };
}
