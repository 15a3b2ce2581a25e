import { runConformance } from "./index.ts";

runConformance(["multipart", "objectAttributes"]);
