import { runConformance } from "./index.ts";

runConformance(["auth", "streaming"]);
