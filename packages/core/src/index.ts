export { errors, isSluiceError, SluiceError } from "./errors.ts";
export { ownValue } from "./lookup.ts";
