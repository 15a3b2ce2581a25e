import { runConformance } from "./index.ts";

runConformance(["objects", "conditionalWrites", "checksums", "buckets"]);
