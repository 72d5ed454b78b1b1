using System.Management.Automation;
using HttpCache.Commands;
using HttpCache.Engine;

namespace HttpCache;

/// <summary>
/// A cache in use, as PowerShell sees it: the settings and where the store lives. Made by
/// New-HttpCacheSession; every cmdlet takes one through <c>-Session</c> (the shared default session when
/// none is given). Dispose it (<c>$session.Dispose()</c>) to flush its counters and close its store.
/// </summary>
public sealed class CacheSession : IDisposable
{
    private readonly ScriptBlockCallbacks? callbacks;

    internal CacheSession(HttpCacheSession engine, bool isDefault = false)
        : this(engine, null, isDefault)
    {
    }

    internal CacheSession(HttpCacheSession engine, HttpCacheSessionOptions? options, bool isDefault = false, ScriptBlockCallbacks? callbacks = null, TimeZoneInfo? timeZone = null)
    {
        Engine = engine;
        IsDefault = isDefault;
        this.callbacks = callbacks;
        var settings = engine.Settings;
        Name = engine.Name;
        Backend = engine.Store.BackendName;
        Location = engine.Store.Location;
        StoreFallback = engine.StoreFallback;
        ExpireAfter = settings.ExpireAfter.ToString();
        CacheControl = settings.CacheControl;
        AllowedMethods = settings.AllowedMethods.OrderBy(m => m, StringComparer.OrdinalIgnoreCase).ToArray();
        AllowedStatusCodes = settings.AllowedStatusCodes.OrderBy(s => s).ToArray();
        CreatedAt = engine.CreatedAt.LocalDateTime;

        Shared = settings.Shared;
        TargetedCacheControl = settings.Shared && settings.TargetedCacheControl is { Length: > 0 } targeted ? targeted : null;
        UrlExpireAfter = settings.UrlExpireAfter.Select(rule => $"{rule.Pattern} = {rule.Expiration}").ToArray();
        StatusExpireAfter = settings.StatusExpireAfter.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value.ToString());
        TimeZone = (timeZone ?? TimeZoneInfo.Local).Id;
        HeuristicFreshness = settings.HeuristicFreshness;
        AlwaysRevalidate = settings.AlwaysRevalidate;
        AlwaysCache = settings.AlwaysCache;
        StaleIfError = settings.StaleIfError;
        StaleWhileRevalidate = settings.StaleWhileRevalidate;
        IgnoredParameters = settings.SecretNames.Order(StringComparer.OrdinalIgnoreCase).ToArray();
        ExcludeFromKey = (settings.ExcludeFromKey ?? new HashSet<string>()).Order(StringComparer.OrdinalIgnoreCase).ToArray();
        KeySecretSource = engine.KeySecretSource.ToString();
        MatchHeaders = settings.MatchAllHeaders ? ["*"] : (settings.MatchHeaders ?? []).ToArray();
        KeepExpiredFor = settings.KeepExpiredFor;
        MaxSize = options?.Limits.MaxBytes;
        MaxBodySize = settings.MaxBodySize;
        Compress = settings.Compress.ToString();
        MaxEntries = options?.Limits.MaxEntries;
        if (Backend == "Redis")
        {
            Namespace = options?.Namespace;
            RedisConnection = options?.RedisConnection ?? engine.RedisConnection;
        }
    }

    /// <summary>The session's name.</summary>
    public string Name { get; }

    /// <summary>The store's backend: Sqlite, Memory, FileSystem or Redis.</summary>
    public string Backend { get; }

    /// <summary>
    /// Where the store keeps its data: the SQLite file's or the cache folder's full path, the Redis endpoints
    /// and namespace, or 'memory'.
    /// </summary>
    public string Location { get; }

    /// <summary>
    /// Why this session caches in memory instead of its own store, which could not be opened (the default
    /// session only: a full disk, a read-only folder, a file that is not a cache); null when it uses its store.
    /// </summary>
    public string? StoreFallback { get; }

    /// <summary>
    /// The lifetime of responses that give none of their own: NeverExpire, ExpireImmediately, DoNotCache,
    /// a duration (d.hh:mm:ss), an instant, or EndOfDay / EndOfWeek with the time zone.
    /// </summary>
    public string ExpireAfter { get; }

    /// <summary>True when the responses' Cache-Control and Expires headers win over <see cref="ExpireAfter"/>.</summary>
    public bool CacheControl { get; }

    /// <summary>The request methods whose responses are cached.</summary>
    public string[] AllowedMethods { get; }

    /// <summary>The status codes that are cached (besides those of <see cref="StatusExpireAfter"/>).</summary>
    public int[] AllowedStatusCodes { get; }

    /// <summary>When the session was created (local time).</summary>
    public DateTime CreatedAt { get; }

    /// <summary>True for the shared session the cmdlets use when -Session is not given.</summary>
    public bool IsDefault { get; }

    /// <summary>True for a shared store (RFC 9111 §3.5): private answers and answers to authorized requests stay out.</summary>
    public bool Shared { get; }

    /// <summary>The targeted cache-control field (RFC 9213) this shared session obeys first; null when none applies.</summary>
    public string? TargetedCacheControl { get; }

    /// <summary>The per-URL lifetimes, 'pattern = lifetime', in the order they are tried.</summary>
    public string[] UrlExpireAfter { get; }

    /// <summary>The lifetimes per status code.</summary>
    public Dictionary<int, string> StatusExpireAfter { get; }

    /// <summary>The time zone of calendar lifetimes (EndOfDay, EndOfWeek).</summary>
    public string TimeZone { get; }

    /// <summary>The script block that computes a lifetime per answer, or null.</summary>
    public ScriptBlock? ExpireAfterScript => callbacks?.ExpireAfterScript;

    /// <summary>The script block that decides per answer whether it is stored, or null.</summary>
    public ScriptBlock? StorePredicate => callbacks?.StorePredicate;

    /// <summary>
    /// How many times <see cref="ExpireAfterScript"/> or <see cref="StorePredicate"/> failed (threw, wrote an
    /// error, ran too long, returned something unusable). Each failure counted as "no opinion" (the next rule
    /// set the lifetime) or "do not store".
    /// </summary>
    public long ScriptErrors => callbacks?.ErrorCount ?? 0;

    /// <summary>The latest failure of a session script block, with its ErrorId (ExpireAfterScriptFailed, StorePredicateFailed), or null.</summary>
    public ErrorRecord? LastScriptError => callbacks?.LastError;

    /// <summary>The once-per-session warning about a failing script block, or null (see <see cref="ScriptBlockCallbacks.TakeWarning"/>).</summary>
    internal string? TakeScriptWarning() => callbacks?.TakeWarning();

    /// <summary>Heuristic freshness from Last-Modified for answers without a lifetime of their own (RFC 9111 §4.2.2).</summary>
    public bool HeuristicFreshness { get; }

    /// <summary>Every stored answer is revalidated before use.</summary>
    public bool AlwaysRevalidate { get; }

    /// <summary>Answers are stored even when they say no-store or private.</summary>
    public bool AlwaysCache { get; }

    /// <summary>How long past expiry a stored answer stands in for a failing origin; null: only when the answer allows; TimeSpan.MaxValue: any.</summary>
    public TimeSpan? StaleIfError { get; }

    /// <summary>How long past expiry a stored answer is served while it is refreshed in the background; null: only when the answer allows.</summary>
    public TimeSpan? StaleWhileRevalidate { get; }

    /// <summary>The secret names (query parameters, headers, body fields): keyed by a keyed digest and written as REDACTED.</summary>
    public string[] IgnoredParameters { get; }

    /// <summary>The names left out of the cache key entirely (-ExcludeFromKey).</summary>
    public string[] ExcludeFromKey { get; }

    /// <summary>Where the key secret came from: Given, Environment, UserKeyFile, Process or None (never the secret itself).</summary>
    public string KeySecretSource { get; }

    /// <summary>The request headers that are part of the key; '*' for all of them.</summary>
    public string[] MatchHeaders { get; }

    /// <summary>How long an expired entry is kept for revalidation and stale answers (-TtlOffset); null: until removed.</summary>
    public TimeSpan? KeepExpiredFor { get; }

    /// <summary>The most bytes the store holds (-MaxSize), or null.</summary>
    public long? MaxSize { get; }

    /// <summary>The most entries the store holds (-MaxEntries), or null.</summary>
    public long? MaxEntries { get; }

    /// <summary>The largest body stored (-MaxBodySize); larger answers pass through uncached.</summary>
    public long MaxBodySize { get; }

    /// <summary>How bodies are compressed in the store (-Compress): None, Brotli or Gzip.</summary>
    public string Compress { get; }

    /// <summary>The prefix of the Redis keys, for the Redis backend.</summary>
    public string? Namespace { get; }

    /// <summary>
    /// The Redis connection (a StackExchange.Redis IConnectionMultiplexer) for the Redis backend, to reuse in
    /// another session: <c>New-HttpCacheSession -Backend Redis -RedisConnection $first.RedisConnection</c>.
    /// The session that opened it closes it when disposed.
    /// </summary>
    public object? RedisConnection { get; }

    /// <summary>
    /// The engine's session. Engine types appear in this assembly's public types only as reference-typed
    /// members (never a field of an engine struct): PowerShell lists the exported types before the module's
    /// initializer lets the runtime find the engine, and only a value-typed field would need it loaded then.
    /// </summary>
    internal HttpCacheSession Engine { get; }

    /// <summary>True once <see cref="Dispose"/> ran.</summary>
    internal bool IsDisposed { get; private set; }

    /// <summary>Flushes the session's counters to its store, closes the store and the script blocks' runspace.</summary>
    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }

        IsDisposed = true;
        try
        {
            // First the engine: a background refresh still running may call the script blocks.
            Engine.Dispose();
        }
        finally
        {
            callbacks?.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
