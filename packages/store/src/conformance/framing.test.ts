import { runConformance } from "./index.ts";

runConformance(["framing"]);
