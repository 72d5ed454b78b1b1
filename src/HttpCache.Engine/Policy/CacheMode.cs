namespace HttpCache.Engine.Policy;

/// <summary>How one request uses the cache.</summary>
public enum CacheMode
{
    /// <summary>Serve fresh entries, revalidate stale ones, store what is storable.</summary>
    Default,
    /// <summary>Revalidate now: a conditional request when a validator is stored, else a plain fetch.</summary>
    Refresh,
    /// <summary>Fetch anew, ignoring any stored entry; the answer is stored as usual.</summary>
    ForceRefresh,
    /// <summary>Never contact the origin: a miss or a stale entry is answered 504 Not Cached.</summary>
    OnlyIfCached,
}

/// <summary>Per-request cache options, carried in <see cref="HttpRequestMessage.Options"/>.</summary>
public sealed record CacheRequestOptions
{
    /// <summary>Defaults: no per-request lifetime, <see cref="CacheMode.Default"/>.</summary>
    public static CacheRequestOptions Default { get; } = new();

    /// <summary>A per-request lifetime, ranked above the session's (below request and response Cache-Control).</summary>
    public Expiration? ExpireAfter { get; init; }

    /// <summary>How this request uses the cache.</summary>
    public CacheMode Mode { get; init; }

    /// <summary>
    /// How long the origin may take to answer; null: no limit. Applied inside the cache, so that a
    /// timeout can fall back to a stale answer (stale-if-error) instead of failing.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How the request reaches the origin (connection settings, redirects, retries); null: the defaults.</summary>
    public Http.TransportSettings? Transport { get; init; }

    /// <summary>
    /// Who the caller is beyond its headers (handler-level credentials, client certificates): keyed like the
    /// Authorization header, as a digest, so an answer stored for one caller is never served to another.
    /// Null: the <see cref="Transport"/> settings' own <see cref="Http.TransportSettings.CallerIdentity"/>.
    /// </summary>
    public string? CallerIdentity { get; init; }

    /// <summary>The request option the caller identity travels in, read by the policy like a request header.</summary>
    public static readonly HttpRequestOptionsKey<string> CallerKey = new("HttpCache.Caller");

    /// <summary>The pseudo-header name under which <see cref="CallerIdentity"/> is keyed and matched.</summary>
    public const string CallerName = "*caller";
}
