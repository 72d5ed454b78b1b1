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

        var headers = request.Headers;
        if (headers.IfNoneMatch.Count > 0 || headers.IfModifiedSince is not null
            || headers.Contains("If-Match") || headers.Contains("If-Unmodified-Since") || headers.Contains("If-Range"))
        {
            return CacheReason.BypassConditionalRequest;
        }

        return null;
    }

    /// <summary>Decides how to answer a request given the matching stored variant, if any.</summary>
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
        var control = stored.CacheControl;

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
        else if (requestControl.MaxAge is { } maxAge && age > maxAge)
        {
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
        StaleWindowAllows(stored, settings, now, settings.StaleIfError, stored.CacheControl.StaleIfError, CacheDirectives.From(request.Headers).StaleIfError);

    /// <summary>Whether an expired answer may be served while it is refreshed in the background (RFC 5861 §3).</summary>
    public static bool StaleWhileRevalidateAllowed(StoredResponse stored, HttpRequestMessage request, CacheSettings settings, DateTimeOffset now) =>
        StaleWindowAllows(stored, settings, now, settings.StaleWhileRevalidate, stored.CacheControl.StaleWhileRevalidate, null);

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

    /// <summary>§4.2.4: must-revalidate (and proxy-revalidate in a shared cache) and no-cache forbid serving stale.</summary>
    private static bool StaleAllowed(StoredResponse stored, CacheSettings settings)
    {
        var control = stored.CacheControl;
        return !(control.MustRevalidate || control.NoCache || (settings.Shared && control.ProxyRevalidate));
    }

    private static bool PragmaNoCache(HttpRequestMessage request) =>
        request.Headers.Pragma.Any(p => string.Equals(p.Name, "no-cache", StringComparison.OrdinalIgnoreCase));
}
