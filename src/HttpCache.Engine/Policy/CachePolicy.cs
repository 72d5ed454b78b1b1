using System.Runtime.CompilerServices;
namespace HttpCache.Engine.Policy;

/// <summary>
/// The caching rules: pure functions of the request, the stored answer, the settings and the time.
/// No I/O, no clock of its own. RFC 9111 section numbers mark the rules they implement.
/// </summary>
public static partial class CachePolicy
{
    /// <summary>
    /// Whether the cache looks at this request at all. Null when it does; otherwise the reason it stays out.
    /// </summary>
    public static CacheReason? Bypass(HttpRequestMessage request, CacheSettings settings)
    {
        if (!settings.AllowedMethods.Contains(request.Method.Method))
        {
            return CacheReason.BypassMethod;
        }

        if (CacheDirectives.From(request.Headers).NoStore)
        {
            return CacheReason.BypassRequestNoStore;
        }

        // If-None-Match and If-Modified-Since are the cache's to answer from a fresh stored answer (§4.3.2), and
        // If-Range qualifies a Range it answers (RFC 9110 §13.1.5); these preconditions are the origin's.
        var headers = request.Headers.NonValidated;
        if (headers.Contains("If-Match") || headers.Contains("If-Unmodified-Since"))
        {
            return CacheReason.BypassConditionalRequest;
        }

        return null;
    }

    /// <summary>Decides how to answer a request given the matching stored variant, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static LookupDecision Lookup(HttpRequestMessage request, StoredResponse? stored, CacheSettings settings, CacheRequestOptions options, DateTimeOffset now)
    {
        var requestControl = CacheDirectives.From(request.Headers);
        var onlyIfCached = options.Mode == CacheMode.OnlyIfCached || requestControl.OnlyIfCached;
        if (options.Mode == CacheMode.ForceRefresh)
        {
            return new(LookupAction.Fetch, CacheReason.RefreshForced, false, TimeSpan.Zero);
        }

        if (stored is null)
        {
            return onlyIfCached
                ? new(LookupAction.NotCached, CacheReason.OnlyIfCachedMiss, false, TimeSpan.Zero)
                : new(LookupAction.Fetch, CacheReason.MissNoEntry, false, TimeSpan.Zero);
        }

        var age = CurrentAge(stored, now);
        var expiresAt = stored.Record.ExpiresAt;
        var expired = expiresAt is { } e && now >= e;
        var control = stored.Directives(settings);

        CacheReason? mustValidate = null;
        if (options.Mode == CacheMode.Refresh)
        {
            mustValidate = CacheReason.RefreshRequested;
        }
        else if (requestControl.NoCache || (!request.Headers.Contains("Cache-Control") && PragmaNoCache(request)))
        {
            // §5.2.1.4, and §5.4: Pragma: no-cache counts only when there is no Cache-Control.
            mustValidate = CacheReason.RequestNoCache;
        }
        else if (requestControl.MaxAge is { } maxAge && age > maxAge && !(control.Immutable && !expired))
        {
            // RFC 8246 §2: a fresh immutable answer is not revalidated on a reload (max-age=0); no-cache, a
            // forced reload, still is.
            mustValidate = CacheReason.RequestMaxAge;
        }
        else if (requestControl.MinFresh is { } minFresh && expiresAt is { } until && until - now < minFresh)
        {
            mustValidate = CacheReason.RequestMinFresh;
        }
        else if (expired)
        {
            if (requestControl.MaxStale && StaleAllowed(stored, settings)
                && (requestControl.MaxStaleLimit is not { } limit || now - expiresAt!.Value <= limit))
            {
                return new(LookupAction.Serve, CacheReason.StaleHitMaxStale, true, age);
            }

            mustValidate = stored.HasValidator ? CacheReason.StaleRevalidating : CacheReason.MissExpired;
        }
        else if (settings.AlwaysRevalidate && !control.Immutable)
        {
            // RFC 8246: a fresh immutable answer is not revalidated unless the user asks explicitly.
            mustValidate = CacheReason.AlwaysRevalidate;
        }

        if (mustValidate is not { } reason)
        {
            return new(LookupAction.Serve, CacheReason.FreshHit, false, age);
        }

        if (onlyIfCached)
        {
            return expired && (StaleWhileRevalidateAllowed(stored, request, settings, now) || StaleIfErrorAllowed(stored, request, settings, now))
                ? new(LookupAction.Serve, CacheReason.StaleHitOnlyIfCached, true, age)
                : new(LookupAction.NotCached, CacheReason.OnlyIfCachedStale, expired, age);
        }

        if (expired && reason is CacheReason.StaleRevalidating or CacheReason.MissExpired && StaleWhileRevalidateAllowed(stored, request, settings, now))
        {
            return new(LookupAction.ServeAndRefresh, CacheReason.StaleWhileRevalidate, true, age);
        }

        return stored.HasValidator
            ? new(LookupAction.Revalidate, reason, expired, age)
            : new(LookupAction.Fetch, reason, expired, age);
    }

    /// <summary>
    /// Whether a stale answer may stand in for a failed or erroring origin (RFC 5861 §4): expired no
    /// longer ago than the larger of the session's window and the answer's (or request's)
    /// stale-if-error, and never past must-revalidate / no-cache (RFC 9111 §4.2.4). A fresh answer
    /// always may.
    /// </summary>
    public static bool StaleIfErrorAllowed(StoredResponse stored, HttpRequestMessage request, CacheSettings settings, DateTimeOffset now) =>
        StaleWindowAllows(stored, settings, now, settings.StaleIfError, stored.Directives(settings).StaleIfError, CacheDirectives.From(request.Headers).StaleIfError);

    /// <summary>Whether an expired answer may be served while it is refreshed in the background (RFC 5861 §3).</summary>
    public static bool StaleWhileRevalidateAllowed(StoredResponse stored, HttpRequestMessage request, CacheSettings settings, DateTimeOffset now) =>
        StaleWindowAllows(stored, settings, now, settings.StaleWhileRevalidate, stored.Directives(settings).StaleWhileRevalidate, null);

    private static bool StaleWindowAllows(StoredResponse stored, CacheSettings settings, DateTimeOffset now, TimeSpan? sessionWindow, TimeSpan? responseWindow, TimeSpan? requestWindow)
    {
        // Without a window from the session, the answer or the request, errors are the caller's to see.
        if (Max(Max(sessionWindow, responseWindow), requestWindow) is not { } window)
        {
            return false;
        }

        if (stored.Record.ExpiresAt is not { } expiresAt || now < expiresAt)
        {
            return true;
        }

        return StaleAllowed(stored, settings) && (window == TimeSpan.MaxValue || now - expiresAt <= window);
    }

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>
    /// §4.2.4: must-revalidate and no-cache forbid serving stale; so, in a shared cache, do proxy-revalidate
    /// and s-maxage (§5.2.2.10: "The s-maxage directive incorporates the semantics of the proxy-revalidate
    /// response directive (Section 5.2.2.8) for a shared cache").
    /// </summary>
    private static bool StaleAllowed(StoredResponse stored, CacheSettings settings)
    {
        var control = stored.Directives(settings);
        return !(control.MustRevalidate || control.NoCache || (settings.Shared && (control.ProxyRevalidate || control.SharedMaxAge is not null)));
    }

    private static bool PragmaNoCache(HttpRequestMessage request) =>
        HttpFields.Lines(request, "Pragma") is { } lines
        && lines.SelectMany(l => l.Split(',', StringSplitOptions.TrimEntries)).Contains("no-cache", StringComparer.OrdinalIgnoreCase);
}
