namespace HttpCache.Engine.Policy;

/// <summary>
/// A session's caching rules. Immutable: a session's behaviour cannot change under requests in flight.
/// </summary>
public sealed record CacheSettings
{
    /// <summary>The statuses stored by default (RFC 9110 §15.1's heuristically cacheable ones that a client meets most).</summary>
    public static IReadOnlySet<int> DefaultStatusCodes { get; } = new HashSet<int> { 200, 203, 300, 301, 308 };

    /// <summary>The methods stored by default.</summary>
    public static IReadOnlySet<string> DefaultMethods { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD" };

    /// <summary>The default settings.</summary>
    public static CacheSettings Default { get; } = new();

    /// <summary>The lifetime of responses that give no freshness of their own (or when headers are not honoured).</summary>
    public Expiration ExpireAfter { get; init; } = Expiration.NeverExpire;

    /// <summary>Honour the response's Cache-Control / Expires freshness over <see cref="ExpireAfter"/>.</summary>
    public bool CacheControl { get; init; } = true;

    /// <summary>Methods whose responses are stored and looked up.</summary>
    public IReadOnlySet<string> AllowedMethods { get; init; } = DefaultMethods;

    /// <summary>Statuses that are stored.</summary>
    public IReadOnlySet<int> AllowedStatusCodes { get; init; } = DefaultStatusCodes;

    /// <summary>
    /// A shared cache (RFC 9111 §3.5): <c>private</c> answers and answers to authorized requests are not
    /// stored unless allowed, and <c>s-maxage</c> wins over <c>max-age</c>.
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>
    /// The targeted cache-control field (RFC 9213) a shared session obeys before Cache-Control and Expires
    /// when an answer carries a valid one; null or empty for none. Ignored by a private session.
    /// </summary>
    public string? TargetedCacheControl { get; init; } = Policy.TargetedCacheControl.CdnCacheControl;

    /// <summary>Per-URL lifetimes, first match wins; below the per-request lifetime, above the session's.</summary>
    public IReadOnlyList<UrlExpiration> UrlExpireAfter { get; init; } = [];

    /// <summary>Lifetimes per status (negative caching), above the URL patterns.</summary>
    public IReadOnlyDictionary<int, Expiration> StatusExpireAfter { get; init; } = new Dictionary<int, Expiration>();

    /// <summary>
    /// Computes a lifetime per response, consulted just above the session's <see cref="ExpireAfter"/>;
    /// null from it means "no opinion".
    /// </summary>
    public Func<HttpResponseMessage, Expiration?>? ExpireAfterCallback { get; init; }

    /// <summary>Opt-in heuristic freshness from Last-Modified (RFC 9111 §4.2.2): 10% of its age, at most a week.</summary>
    public bool HeuristicFreshness { get; init; }

    /// <summary>Revalidate every stored answer before use (fresh immutable ones excepted).</summary>
    public bool AlwaysRevalidate { get; init; }

    /// <summary>
    /// Serve a stored answer, expired no longer ago than this, when the origin fails or answers with an
    /// error (RFC 5861 §4). Null: only when the answer's own stale-if-error allows.
    /// <see cref="TimeSpan.MaxValue"/>: any staleness.
    /// </summary>
    public TimeSpan? StaleIfError { get; init; }

    /// <summary>
    /// Answer at once with an answer expired no longer ago than this and refresh it in the background
    /// (RFC 5861 §3). Null: only when the answer's own stale-while-revalidate allows.
    /// </summary>
    public TimeSpan? StaleWhileRevalidate { get; init; }

    /// <summary>Store answers even when they say no-store or private (as httpx-cache's always_cache).</summary>
    public bool AlwaysCache { get; init; }

    /// <summary>Decides per answer whether it may be stored, after every other rule said yes.</summary>
    public Func<HttpResponseMessage, bool>? StorePredicate { get; init; }

    /// <summary>
    /// The names treated as secrets by default: request headers, query parameters and JSON/form body fields
    /// that carry credentials in real APIs (sources in docs/backends.md, "Security"). Each is keyed by a keyed
    /// digest and written as REDACTED wherever the request is stored.
    /// </summary>
    public static IReadOnlySet<string> DefaultSecretNames { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        // Headers: HTTP's own credentials, then the API-key headers of common services.
        "Authorization", "Proxy-Authorization", "Cookie",
        "X-API-Key", "X-Auth-Token", "X-API-Token", "X-Access-Token", "X-Amz-Security-Token", "X-Goog-Api-Key",
        "Ocp-Apim-Subscription-Key", "Private-Token", "X-Vault-Token", "X-CSRF-Token", "X-XSRF-Token",
        // Query parameters and body fields: API keys, OAuth 2.0 / OpenID Connect, signed URLs (AWS, Azure SAS).
        "access_token", "api_key", "apikey", "api-key", "key", "token", "secret", "password", "passwd", "auth",
        "signature", "sig", "code", "client_secret", "refresh_token", "id_token", "private_key", "privatekey",
        "subscription-key", "X-Amz-Signature", "X-Amz-Credential",
    };

    private readonly IReadOnlySet<string>? ignoredParameters;
    private readonly IReadOnlySet<string>? excludeFromKey;
    private readonly IReadOnlySet<string>? secretNames;

    /// <summary>
    /// Secret names added to <see cref="DefaultSecretNames"/> (the PowerShell <c>-IgnoredParameters</c>, named
    /// after requests-cache's option). Unlike requests-cache, they stay in the key, as keyed digests.
    /// </summary>
    public IReadOnlySet<string>? IgnoredParameters
    {
        get => ignoredParameters;
        init
        {
            ignoredParameters = value;
            secretNames = value is null ? null : new HashSet<string>(DefaultSecretNames.Concat(value), StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// The secret names in force, matched case-insensitively (and, for query and form names, after
    /// percent-decoding): keyed by an HMAC-SHA-256 digest under <see cref="KeySecret"/>, redacted where stored.
    /// </summary>
    public IReadOnlySet<string> SecretNames => secretNames ?? DefaultSecretNames;

    /// <summary>
    /// Names (headers, query parameters, body fields) left out of the key entirely, so requests that differ only
    /// in them share one entry — across users, if the name carries a credential. Also redacted where stored.
    /// </summary>
    public IReadOnlySet<string>? ExcludeFromKey
    {
        get => excludeFromKey;
        init => excludeFromKey = value is null ? null : new HashSet<string>(value, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The secret under which secrets are digested (HMAC-SHA-256) for the key; kept out of the store. Null: an
    /// empty key, so digests are only as hard to reverse as the secrets are to guess.
    /// </summary>
    public byte[]? KeySecret { get; init; }

    /// <summary>Whether <paramref name="name"/> is a secret that stays in the key as a digest.</summary>
    public bool IsKeyedSecret(string name) => SecretNames.Contains(name) && !IsExcludedFromKey(name);

    /// <summary>Whether <paramref name="name"/> is left out of the key.</summary>
    public bool IsExcludedFromKey(string name) => excludeFromKey is not null && excludeFromKey.Contains(name);

    /// <summary>Whether a value under <paramref name="name"/> is written as REDACTED wherever it is stored.</summary>
    public bool IsRedacted(string name) => SecretNames.Contains(name) || IsExcludedFromKey(name);

    /// <summary>Request headers that become part of the key; null: none.</summary>
    public IReadOnlyList<string>? MatchHeaders { get; init; }

    /// <summary>Make every request header part of the key (secrets as digests; excluded ones left out).</summary>
    public bool MatchAllHeaders { get; init; }

    /// <summary>
    /// How long an expired entry is kept for revalidation and stale answers before the store may delete
    /// it (the second clock). Null: kept until removed.
    /// </summary>
    public TimeSpan? KeepExpiredFor { get; init; }

    /// <summary>The default <see cref="MaxBodySize"/>: 64 MiB, as ASP.NET Core's response cache.</summary>
    public const long DefaultMaxBodySize = 64L * 1024 * 1024;

    /// <summary>Answers with a larger body pass through uncached and are never buffered whole.</summary>
    public long MaxBodySize { get; init; } = DefaultMaxBodySize;

    /// <summary>How bodies are compressed in the store; answers always carry the original bytes.</summary>
    public BodyCompression Compress { get; init; }
}

/// <summary>How bodies are compressed for storage.</summary>
public enum BodyCompression
{
    /// <summary>Stored as received.</summary>
    None,
    /// <summary>Brotli (fastest level).</summary>
    Brotli,
    /// <summary>gzip (fastest level).</summary>
    Gzip,
}
