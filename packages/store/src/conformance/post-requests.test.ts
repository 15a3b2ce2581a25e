import { runConformance } from "./index.ts";

runConformance(["postRequests"]);
