/**
 * A webhook that bucket notification configurations may name: a
 * TopicConfiguration/QueueConfiguration/CloudFunctionConfiguration whose ARN
 * is `arn` is delivered by POST to `url`, signed with `secret`.
 */
export interface NotificationTarget {
  /** What a configuration names, e.g. "arn:aws:sns:us-east-1:sluice:uploads" or any id. */
  arn: string;
  /** http(s) URL the event records are POSTed to. */
  url: string;
  /** Key of the HMAC-SHA256 signature in x-sluice-signature (see verifyNotificationSignature). */
  secret: string;
}

export function resolveNotificationTargets(targets: readonly NotificationTarget[]): NotificationTarget[] {
  const seen = new Set<string>();
  return targets.map((target) => {
    if (!target || typeof target.arn !== "string" || target.arn === "")
      throw new TypeError("startStore: every notification target needs an arn");
    if (seen.has(target.arn))
      throw new TypeError(`startStore: notification target ${target.arn} is listed twice`);
    seen.add(target.arn);
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new TypeError(`startStore: notification target ${target.arn} needs an http(s) url`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new TypeError(`startStore: notification target ${target.arn} needs an http(s) url`);
    if (typeof target.secret !== "string" || target.secret.length < 16)
      throw new TypeError(
        `startStore: notification target ${target.arn} needs a secret of 16 characters or more`,
      );
    return { arn: target.arn, url: url.href, secret: target.secret };
  });
}
