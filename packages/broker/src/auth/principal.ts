/** Who is calling: every key and every read is scoped to tenant + user. */
export interface Principal {
  tenant: string;
  user: string;
  /** How the caller authenticated, for the audit log. */
  via?: "jwt" | "api-key" | "hook";
}
