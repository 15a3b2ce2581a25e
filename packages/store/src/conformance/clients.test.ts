import { runConformance } from "./index.ts";

runConformance(["realClients"]);
