using System.Collections;
using System.Management.Automation;
using System.Runtime.Loader;
using HttpCache.Engine;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Creates a cache session: a store (SQLite, memory, a folder or Redis) and the rules for what is cached and for how long.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "HttpCacheSession")]
[OutputType(typeof(CacheSession))]
public sealed class NewHttpCacheSessionCommand : PSCmdlet
{
    /// <summary>How long a Redis session keeps expired entries when neither -TtlOffset nor -NoRedisTtl is given.</summary>
    internal static readonly TimeSpan DefaultRedisTtlOffset = TimeSpan.FromHours(1);

    /// <summary>Numbers the unnamed sessions of this process: "default" is the process's default session alone.</summary>
    private static int unnamedSessions;

    /// <summary>A name to tell sessions apart (default: "session-N", unique in the process).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? Name { get; set; }

    /// <summary>Sqlite (a file, the default), Memory (gone with the session), FileSystem (a folder) or Redis.</summary>
    [Parameter]
    [ValidateSet("Sqlite", "Memory", "FileSystem", "Redis")]
    public string Backend { get; set; } = "Sqlite";

    /// <summary>The SQLite file (or a folder to hold http_cache.sqlite), or the FileSystem backend's folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The lifetime of responses that give none of their own (default NeverExpire).</summary>
    [Parameter]
    [ExpirationTransformation]
    [ArgumentCompleter(typeof(ExpirationCompleter))]
    public object? ExpireAfter { get; set; }

    /// <summary>Calendar expiry instead of -ExpireAfter: fresh until the end of the day or week, in -TimeZone.</summary>
    [Parameter]
    [ValidateSet("EndOfDay", "EndOfWeek")]
    public string? ExpireAt { get; set; }

    /// <summary>The time zone of calendar lifetimes (IANA or Windows id); default: the local one.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TimeZoneCompleter))]
    public string? TimeZone { get; set; }

    /// <summary>Per-URL lifetimes: an ordered dictionary of glob, [regex] or 'regex:…' pattern → lifetime; the first match wins.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public IDictionary? UrlExpireAfter { get; set; }

    /// <summary>Lifetimes per status code (negative caching), e.g. @{ 404 = 60; 410 = '1.00:00:00' }; those statuses are stored.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public IDictionary? StatusExpireAfter { get; set; }

    /// <summary>Computes a lifetime per answer; receives a ResponseSummary; returns any -ExpireAfter form, or $null for no opinion.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public ScriptBlock? ExpireAfterScript { get; set; }

    /// <summary>Honour the responses' Cache-Control and Expires headers; on by default, -CacheControl:$false turns it off.</summary>
    [Parameter]
    public SwitchParameter CacheControl { get; set; } = true;

    /// <summary>The request methods whose responses are cached (default GET, HEAD).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string[]? AllowedMethods { get; set; }

    /// <summary>The status codes that are cached (default 200, 203, 300, 301, 308).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateRange(100, 599)]
    [ArgumentCompleter(typeof(StatusCodeCompleter))]
    public int[]? AllowedStatusCodes { get; set; }

    /// <summary>Revalidate every stored answer before use (fresh immutable ones excepted).</summary>
    [Parameter]
    public SwitchParameter AlwaysRevalidate { get; set; }

    /// <summary>$true, or how long past expiry a stored answer may stand in when the origin fails or answers an error.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(StaleWindowCompleter))]
    public object? StaleIfError { get; set; }

    /// <summary>$true, or how long past expiry a stored answer is served at once while it is refreshed in the background.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(StaleWindowCompleter))]
    public object? StaleWhileRevalidate { get; set; }

    /// <summary>Answers without a lifetime of their own stay fresh for 10% of their age since Last-Modified (at most a week).</summary>
    [Parameter]
    public SwitchParameter HeuristicFreshness { get; set; }

    /// <summary>Store answers even when they say no-store or private.</summary>
    [Parameter]
    public SwitchParameter AlwaysCache { get; set; }

    /// <summary>Decides per answer whether it is stored; receives a ResponseSummary; returns $true to store.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public ScriptBlock? StorePredicate { get; set; }

    /// <summary>More secret names (query parameters, headers, body fields), added to the default list: written as REDACTED wherever stored, and keyed by a keyed digest.</summary>
    [Parameter]
    [ValidateNotNull]
    [AllowEmptyCollection]
    [ArgumentCompleter(typeof(IgnoredParameterCompleter))]
    public string[]? IgnoredParameters { get; set; }

    /// <summary>Names left out of the cache key entirely (and redacted): requests that differ only in them share one entry, even across users.</summary>
    [Parameter]
    [ValidateNotNull]
    [AllowEmptyCollection]
    [ArgumentCompleter(typeof(ExcludeFromKeyCompleter))]
    public string[]? ExcludeFromKey { get; set; }

    /// <summary>The secret under which secrets are digested for keys; the same on every machine sharing a Redis store. Default: $env:HTTPCACHE_KEY_SECRET, else a per-user key file (local stores).</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public System.Security.SecureString? KeySecret { get; set; }

    /// <summary>$true (every request header) or the request headers that become part of the key.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(MatchHeadersCompleter))]
    public object? MatchHeaders { get; set; }

    /// <summary>A shared cache (RFC 9111 §3.5); the default for Redis.</summary>
    [Parameter]
    public SwitchParameter Shared { get; set; }

    /// <summary>A private cache, also for Redis.</summary>
    [Parameter]
    public SwitchParameter Private { get; set; }

    /// <summary>The targeted cache-control field (RFC 9213) a shared session obeys first; '' for none.</summary>
    [Parameter]
    [ValidateNotNull]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(TargetedCacheControlCompleter))]
    public string? TargetedCacheControl { get; set; }

    /// <summary>A StackExchange.Redis configuration string: 'host:port,password=…,ssl=true', a Cluster's endpoints…</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? RedisConfiguration { get; set; }

    /// <summary>A Redis connection to reuse: the RedisConnection of another session.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public object? RedisConnection { get; set; }

    /// <summary>The prefix of every Redis key (default http_cache).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? Namespace { get; set; }

    /// <summary>How long an expired entry is kept for revalidation and stale answers (default 1 hour for Redis, else until removed).</summary>
    [Parameter]
    [Alias("KeepExpiredFor")]
    [DurationTransformation]
    [ArgumentCompleter(typeof(DurationCompleter))]
    public TimeSpan? TtlOffset { get; set; }

    /// <summary>Redis keeps entries until they are removed (no TTL).</summary>
    [Parameter]
    public SwitchParameter NoRedisTtl { get; set; }

    /// <summary>The most bytes the store holds; least-recently-used entries are evicted beyond it.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public long? MaxSize { get; set; }

    /// <summary>The most entries the store holds; least-recently-used entries are evicted beyond it.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public long? MaxEntries { get; set; }

    /// <summary>Answers with a larger body pass through uncached and unbuffered; 64 MiB when omitted.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public long? MaxBodySize { get; set; }

    /// <summary>Store bodies compressed (Brotli or Gzip); answers always carry the original bytes.</summary>
    [Parameter]
    [ValidateSet("None", "Brotli", "Gzip")]
    public string? Compress { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // The session's clock does not exist yet; the system's is the one it will have.
        if (Errors.PastExpiration(ExpireAfter, TimeProvider.System.GetUtcNow()) is { } past)
        {
            ThrowTerminatingError(past);
        }

        HttpCacheSessionOptions options;
        ScriptBlockCallbacks? callbacks = null;
        TimeZoneInfo timeZone;
        try
        {
            timeZone = SessionOptionParser.ParseTimeZone(TimeZone);
            var backend = ResolveBackend();
            options = new HttpCacheSessionOptions
            {
                Name = Name ?? $"session-{Interlocked.Increment(ref unnamedSessions)}",
                Backend = backend,
                Path = ResolvePath(backend),
                RedisConfiguration = RedisConfiguration,
                RedisConnection = ResolveRedisConnection(),
                Namespace = Namespace ?? Engine.Storage.Redis.RedisCacheStore.DefaultNamespace,
                Limits = MaxSize is null && MaxEntries is null ? StoreLimits.None : new StoreLimits { MaxBytes = MaxSize, MaxEntries = MaxEntries },
            };
            if (ExpireAfterScript is not null || StorePredicate is not null)
            {
                callbacks = new ScriptBlockCallbacks(ExpireAfterScript, StorePredicate, timeZone, SessionState.LanguageMode);
            }

            options = options with { Settings = BuildSettings(backend, timeZone, callbacks) };
        }
        catch (SessionOptionException ex)
        {
            callbacks?.Dispose();
            ThrowTerminatingError(ex.ToErrorRecord());
            return;
        }

        HttpCacheSession engine;
        try
        {
            engine = HttpCacheSession.Create(options);
        }
        catch (Exception ex)
        {
            callbacks?.Dispose();
            var target = (object?)options.Path ?? RedactSecrets(options.RedisConfiguration) ?? (options.Backend == CacheBackend.Sqlite ? CachePaths.DefaultSqlitePath : Backend);
            switch (ex)
            {
                case CacheStoreException store:
                    ThrowTerminatingError(Errors.StoreUnavailable(store, target));
                    return;
                case ObjectDisposedException when options.RedisConnection is not null:
                    ThrowTerminatingError(new ErrorRecord(
                        new ArgumentException("-RedisConnection is closed: the session that opened it was disposed. Keep that session open while others reuse its connection.", ex),
                        ErrorIds.InvalidRedisConnection,
                        ErrorCategory.InvalidArgument,
                        options.RedisConnection));
                    return;
                case ArgumentException when options.Backend == CacheBackend.Redis || ex is ArgumentOutOfRangeException:
                    // The namespace, the configuration string, a bound: the engine's message says which.
                    ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.InvalidSessionOption, ErrorCategory.InvalidArgument, target));
                    return;
                case ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException:
                    // A path the platform rejects before the store sees it (invalid characters, too long…).
                    ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.CacheStoreUnavailable, ErrorCategory.InvalidArgument, target));
                    return;
                default:
                    throw;
            }
        }

        WarnAboutTheKeySecret(engine);
        if (engine.Store is Engine.Storage.Redis.RedisCacheStore { IsConnected: false } redis)
        {
            // Checked once, here: a wrong or closed address is worth saying at once, yet not fatal, since a
            // cache that is down only sends requests to the origin until it comes back.
            WriteWarning($"The Redis server at {redis.Endpoints} did not answer within the connect timeout (1 s unless the configuration sets connectTimeout). The session is created: requests go to the origin, and the cache is used once the server answers. Check the address if that is not expected.");
        }

        var session = new CacheSession(engine, options, isDefault: false, callbacks, timeZone);
        SessionLifetime.Track(session);
        WriteObject(session);
    }

    private static int s_warnedUnkeyed;

    /// <summary>
    /// A shared store without a key secret keys credentials by a plain digest: said once per process, since
    /// every such session has the same weakness and the same cure.
    /// </summary>
    private void WarnAboutTheKeySecret(HttpCacheSession engine)
    {
        if (engine.KeySecretProblem is { } problem)
        {
            WriteWarning(problem);
        }

        if (engine.KeySecretSource == KeySecretSource.None && Interlocked.Exchange(ref s_warnedUnkeyed, 1) == 0)
        {
            WriteWarning($"This {engine.Store.BackendName} session has no key secret: the digests of credentials in its keys are only as strong as the credentials themselves. Give the same -KeySecret (or $env:{KeySecrets.EnvironmentVariable}) on every machine that shares the store; see docs/backends.md, Security.");
        }
    }

    /// <summary>A Redis configuration string fit for an error's target: passwords replaced by '*****'.</summary>
    private static string? RedactSecrets(string? configuration) => configuration is null
        ? null
        : System.Text.RegularExpressions.Regex.Replace(configuration, @"(?i)(password\s*=)[^,]*", "$1*****");

    private bool Given(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

    /// <summary>The methods RFC 9110 §9 and RFC 5789 (PATCH) define.</summary>
    private static readonly string[] KnownMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

    /// <summary>RFC 9110 §5.6.2: token = 1*tchar.</summary>
    private static bool IsToken(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c));

    private static SessionOptionException Invalid(string message, object? target) => new(ErrorIds.InvalidSessionOption, message, target);

    /// <summary>The backend, with every option that belongs to another one refused.</summary>
    private CacheBackend ResolveBackend()
    {
        var redisGiven = RedisConfiguration is not null || RedisConnection is not null;
        // -RedisConfiguration or -RedisConnection alone say Redis; ValidateSet checked the name.
        var backend = Given(nameof(Backend)) || !redisGiven ? Enum.Parse<CacheBackend>(Backend, ignoreCase: true) : CacheBackend.Redis;
        var name = backend.ToString();
        if (Path is not null && backend is CacheBackend.Memory or CacheBackend.Redis)
        {
            throw Invalid($"-Path applies to the Sqlite and FileSystem backends only; the {name} backend keeps no files.", Path);
        }

        if (Path is null && backend == CacheBackend.FileSystem)
        {
            throw Invalid("The FileSystem backend needs -Path: the folder that holds the cache.", Backend);
        }

        if (backend != CacheBackend.Redis)
        {
            foreach (var redisOnly in new[] { nameof(RedisConfiguration), nameof(RedisConnection), nameof(Namespace), nameof(NoRedisTtl) })
            {
                if (Given(redisOnly))
                {
                    throw Invalid($"-{redisOnly} applies to the Redis backend only, not to {name}.", redisOnly == nameof(RedisConfiguration) ? RedactSecrets(RedisConfiguration) : MyInvocation.BoundParameters[redisOnly]);
                }
            }
        }

        if (RedisConfiguration is not null && RedisConnection is not null)
        {
            throw Invalid("Give -RedisConfiguration or -RedisConnection, not both.", RedactSecrets(RedisConfiguration));
        }

        if (Shared.IsPresent && Private.IsPresent)
        {
            throw Invalid("-Shared and -Private contradict each other.", null);
        }

        if (ExpireAfter is not null && ExpireAt is not null)
        {
            throw Invalid("Give -ExpireAfter or -ExpireAt, not both.", ExpireAt);
        }

        if (NoRedisTtl.IsPresent && TtlOffset is not null)
        {
            throw Invalid("-NoRedisTtl keeps entries until removed; it cannot go with -TtlOffset.", TtlOffset);
        }

        if (TtlOffset is { } offset && offset < TimeSpan.Zero)
        {
            throw Invalid($"-TtlOffset cannot be negative ({offset}).", offset);
        }

        return backend;
    }

    /// <summary>-Path, resolved against the PowerShell location (not the process's current directory).</summary>
    private string? ResolvePath(CacheBackend backend)
    {
        if (Path is null)
        {
            return null;
        }

        var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (backend == CacheBackend.Sqlite && (Path.EndsWith('/') || Path.EndsWith('\\')))
        {
            // A trailing separator names a folder to hold http_cache.sqlite.
            path += System.IO.Path.DirectorySeparatorChar;
        }

        return path;
    }

    /// <summary>-RedisConnection, checked to be a multiplexer of the StackExchange.Redis this module loads.</summary>
    private object? ResolveRedisConnection()
    {
        var connection = SessionOptionParser.Unwrap(RedisConnection);
        if (connection is null)
        {
            return null;
        }

        var contract = connection.GetType().GetInterfaces().FirstOrDefault(i => i.FullName == "StackExchange.Redis.IConnectionMultiplexer");
        if (contract is null)
        {
            throw new SessionOptionException(
                ErrorIds.InvalidRedisConnection,
                $"-RedisConnection: '{connection}' ({connection.GetType().FullName}) is not a Redis connection. Pass the RedisConnection property of another HttpCache session, or use -RedisConfiguration 'host:port'.",
                connection);
        }

        if (AssemblyLoadContext.GetLoadContext(contract.Assembly) != AssemblyLoadContext.GetLoadContext(typeof(HttpCacheSession).Assembly))
        {
            throw new SessionOptionException(
                ErrorIds.InvalidRedisConnection,
                "-RedisConnection was made by another copy of StackExchange.Redis than the one HttpCache loads, so it cannot be shared. Pass the RedisConnection property of another HttpCache session, or use -RedisConfiguration.",
                connection);
        }

        return connection;
    }

    private CacheSettings BuildSettings(CacheBackend backend, TimeZoneInfo timeZone, ScriptBlockCallbacks? callbacks)
    {
        var settings = CacheSettings.Default with
        {
            ExpireAfter = ExpireAt is not null
                ? SessionOptionParser.TryParseExpiration(ExpireAt, timeZone, out var calendar, out _) ? calendar : Expiration.NeverExpire
                : ExpireAfter is Expiration expiration ? expiration : Expiration.NeverExpire,
            CacheControl = CacheControl.IsPresent,
            AlwaysRevalidate = AlwaysRevalidate.IsPresent,
            HeuristicFreshness = HeuristicFreshness.IsPresent,
            AlwaysCache = AlwaysCache.IsPresent,
            StaleIfError = SessionOptionParser.ParseStaleWindow(nameof(StaleIfError), StaleIfError),
            StaleWhileRevalidate = SessionOptionParser.ParseStaleWindow(nameof(StaleWhileRevalidate), StaleWhileRevalidate),
            // RFC 9111 §3.5 for a cache that many users share: Redis unless -Private.
            Shared = !Private.IsPresent && (Shared.IsPresent || backend == CacheBackend.Redis),
            TargetedCacheControl = TargetedCacheControl is null ? CacheSettings.Default.TargetedCacheControl : TargetedCacheControl.Trim(),
            KeepExpiredFor = TtlOffset ?? (backend == CacheBackend.Redis && !NoRedisTtl.IsPresent ? DefaultRedisTtlOffset : null),
            ExpireAfterCallback = callbacks?.ExpirationCallback,
            StorePredicate = callbacks?.PredicateCallback,
            MaxBodySize = MaxBodySize ?? CacheSettings.DefaultMaxBodySize,
            Compress = Enum.Parse<BodyCompression>(Compress ?? nameof(BodyCompression.None), ignoreCase: true),
        };

        if (AllowedMethods is not null)
        {
            var methods = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var given in AllowedMethods)
            {
                var method = (given ?? string.Empty).Trim().ToUpperInvariant();
                if (!IsToken(method))
                {
                    throw new SessionOptionException(
                        ErrorIds.InvalidMethod,
                        $"-AllowedMethods: '{given}' is not a method name. A method is a token (RFC 9110 §5.6.2): letters, digits and !#$%&'*+-.^_`|~, no spaces.",
                        given);
                }

                if (!KnownMethods.Contains(method))
                {
                    // Extension methods are legal HTTP, so they are accepted; but a typo ('GETT') would silently
                    // cache nothing, so it is said.
                    WriteWarning($"-AllowedMethods: '{method}' is not a standard method ({string.Join(", ", KnownMethods)}). It is accepted as an extension method; check the spelling if that is not what you meant.");
                }

                methods.Add(method);
            }

            settings = settings with { AllowedMethods = methods };
        }

        if (AllowedStatusCodes is not null)
        {
            settings = settings with { AllowedStatusCodes = new HashSet<int>(AllowedStatusCodes) };
        }

        if (UrlExpireAfter is not null)
        {
            if (UrlExpireAfter is Hashtable { Count: > 1 })
            {
                WriteWarning("-UrlExpireAfter is a plain hashtable, whose order is not the order you wrote: the first matching pattern wins, so use [ordered]@{ ... }.");
            }

            settings = settings with { UrlExpireAfter = SessionOptionParser.ParseUrlExpireAfter(UrlExpireAfter, timeZone) };
        }

        if (StatusExpireAfter is not null)
        {
            settings = settings with { StatusExpireAfter = SessionOptionParser.ParseStatusExpireAfter(StatusExpireAfter, timeZone) };
        }

        if (IgnoredParameters is not null)
        {
            settings = settings with { IgnoredParameters = SessionOptionParser.ParseNames(nameof(IgnoredParameters), IgnoredParameters) };
        }

        if (ExcludeFromKey is not null)
        {
            settings = settings with { ExcludeFromKey = SessionOptionParser.ParseNames(nameof(ExcludeFromKey), ExcludeFromKey) };
        }

        if (KeySecret is not null)
        {
            var text = new System.Net.NetworkCredential(string.Empty, KeySecret).Password;
            settings = settings with
            {
                KeySecret = text.Length != 0 ? System.Text.Encoding.UTF8.GetBytes(text) : throw Invalid("-KeySecret is empty.", null),
            };
        }

        if (MatchHeaders is not null)
        {
            var (all, names) = SessionOptionParser.ParseMatchHeaders(MatchHeaders);
            settings = settings with { MatchAllHeaders = all, MatchHeaders = names };
        }

        return settings;
    }
}
