import { runConformance } from "./index.ts";

runConformance(["browser", "cors"]);
