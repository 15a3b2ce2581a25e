export { errors, isSluiceError, SluiceError } from "./errors.ts";
