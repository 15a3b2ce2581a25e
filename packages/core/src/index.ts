export { SluiceError, isSluiceError, errors } from "./errors.ts";
