// The AWS Lambda function of deploy/aws/template.yaml, bundled into one file by
// `npm run build:lambda`: the broker's API behind API Gateway (HTTP API,
// payload 2.0), S3 event notifications from SQS, and the scheduled sweep.
// Configured by SLUICE_* environment variables, read once at cold start.
import { createLambdaHandler, loadLambdaConfig } from "@sluice/broker";

export const handler = createLambdaHandler(loadLambdaConfig(process.env));
